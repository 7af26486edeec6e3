#!/usr/bin/env bash
# Writes the seed corpus of the media fuzz target (tests/fuzz/fuzz_media.cpp) into
# tests/fuzz/corpus/media with the ffmpeg command line: tiny files of every container
# family the probe allows (valid_*: probed and decoded), and files that must be refused
# (bad_*: the probe or the decoding refuses them: a playlist, a truncated MP4, an image
# declaring too many pixels, text, ...).
# Every file stays under 16 KiB. Rerun after changing the list; commit the output.
set -euo pipefail
out=${1:-"$(dirname "$0")/corpus/media"}
mkdir -p "$out"
ff() { ffmpeg -hide_banner -loglevel error -nostdin -y "$@"; }
v="testsrc2=size=16x16:rate=5:duration=0.4"
a="sine=frequency=440:sample_rate=8000:duration=0.2"

ff -f lavfi -i "$v" -f lavfi -i "$a" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 8k -shortest "$out/valid_h264_aac.mp4"
ff -f lavfi -i "$v" -f lavfi -i "$a" -c:v ffv1 -c:a flac -shortest "$out/valid_ffv1_flac.mkv"
ff -f lavfi -i "$v" -c:v mjpeg -q:v 20 "$out/valid_mjpeg.avi"
ff -f lavfi -i "$v" -c:v mpeg4 -q:v 31 "$out/valid_mpeg4.m4v"
# (MPEG-TS and MP2 need a second or two before FFmpeg's probe recognises them.)
ff -f lavfi -i "testsrc2=size=16x16:rate=5:duration=1" -c:v mpeg2video -q:v 31 -f mpegts "$out/valid_mpeg2.ts"
ff -f lavfi -i "$v" -pix_fmt yuv420p -f yuv4mpegpipe "$out/valid_raw.y4m"
ff -f lavfi -i "$v" -c:v flv1 -q:v 31 "$out/valid_flv1.flv"
ff -f lavfi -i "$v" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -f h264 "$out/valid_annexb.h264"
ff -f lavfi -i "$v" -c:v rawvideo -pix_fmt rgb24 -f nut "$out/valid_raw.nut"
ff -f lavfi -i "testsrc2=size=8x8:rate=4:duration=0.5" "$out/valid_anim.gif"
ff -f lavfi -i "testsrc2=size=16x16" -frames:v 1 "$out/valid_still.png"
ff -f lavfi -i "testsrc2=size=16x16" -frames:v 1 -q:v 20 "$out/valid_still.jpg"
ff -f lavfi -i "testsrc2=size=16x16" -frames:v 1 "$out/valid_still.bmp"
ff -f lavfi -i "$a" -c:a pcm_s16le "$out/valid_pcm.wav"
ff -f lavfi -i "$a" -c:a flac "$out/valid_audio.flac"
ff -f lavfi -i "$a" -c:a pcm_s16be "$out/valid_pcm.aiff"
ff -f lavfi -i "$a" -c:a pcm_mulaw -f au "$out/valid_mulaw.au"
ff -f lavfi -i "$a" -c:a ac3 -b:a 32k "$out/valid_audio.ac3"
ff -f lavfi -i "$a" -c:a aac -b:a 8k -f adts "$out/valid_adts.aac"
ff -f lavfi -i "sine=frequency=440:sample_rate=16000:duration=2" -c:a mp2 -b:a 32k "$out/valid_audio.mp2"
ff -f lavfi -i "$v" -f lavfi -i "$a" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 8k -shortest \
  -movflags +faststart "$out/valid_faststart.mov"

# Refused or damaged.
head -c 1500 "$out/valid_h264_aac.mp4" > "$out/bad_truncated.mp4"
printf '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n/etc/passwd\n#EXT-X-ENDLIST\n' > "$out/bad_playlist.m3u8"
printf 'ffconcat version 1.0\nfile /etc/passwd\n' > "$out/bad_concat.ffconcat"
printf 'this is not a media file, just text\n' > "$out/bad_text.txt"
# A PNG whose header declares 4096 x 4096 pixels (above the fuzz cap of 1 Mpixel): the
# probe may accept it, decoding must refuse it.
python3 - "$out/valid_still.png" "$out/bad_png_too_large.png" <<'PY'
import struct, sys, zlib
data = bytearray(open(sys.argv[1], "rb").read())
# IHDR is the first chunk: length(4) type(4) width(4) height(4) ... crc(4) at offset 8.
assert data[12:16] == b"IHDR"
data[16:24] = struct.pack(">II", 4096, 4096)
data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
open(sys.argv[2], "wb").write(data)
PY
ls -l "$out"
