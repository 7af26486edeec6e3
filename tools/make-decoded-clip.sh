#!/usr/bin/env bash
# Makes a decoded clip folder (format: tests/cuda/decoded_clip.h) with the ffmpeg command
# line, so that a machine without FFmpeg (the GPU machine) can run the feature extractors
# on real decoded frames and audio: tests/cuda/test_cuda_extract.cpp reads the folder named
# by HL_TEST_DECODED_CLIP.
#
#   tools/make-decoded-clip.sh OUT_DIR [WIDTH HEIGHT SECONDS]     (default 97 71 1.5)
#
# It encodes a generated clip first (testsrc2 video at 30000/1001 fps, drawn at twice the size
# and scaled down, since testsrc2 rounds odd sizes down to even ones; H.264 4:4:4, which allows
# an odd frame size; a harmonic tone in AAC at 44.1 kHz; in Matroska), then
# decodes it as the pipeline would: video to packed RGB24 (-f rawvideo -pix_fmt rgb24), audio
# to mono 16-kHz f32 (-f f32le -ac 1 -ar 16000), and writes clip.json from the sizes of what
# came out. OUT_DIR is created if needed; the three files are written in a temporary folder
# and moved in at the end, so a failure leaves no partial clip. Exits non-zero with a message
# on any failure.
set -euo pipefail

usage() { echo "usage: $0 OUT_DIR [WIDTH HEIGHT SECONDS]" >&2; exit 2; }
[[ $# -eq 1 || $# -eq 4 ]] || usage
out=$1
width=${2:-97}
height=${3:-71}
seconds=${4:-1.5}
[[ $width =~ ^[1-9][0-9]*$ && $height =~ ^[1-9][0-9]*$ ]] || { echo "$0: WIDTH and HEIGHT must be positive integers" >&2; exit 2; }
[[ $seconds =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "$0: SECONDS must be a positive number" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "$0: ffmpeg is not on PATH" >&2; exit 1; }

fps_num=30000
fps_den=1001
rate=16000

mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hl-decoded-clip.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The source clip: testsrc2 (moving colour pattern and counter) and three harmonics of 220 Hz
# under a slow tremolo.
ffmpeg -nostdin -v error -y \
  -f lavfi -i "testsrc2=size=$((2 * width))x$((2 * height)):rate=${fps_num}/${fps_den}:duration=${seconds},scale=${width}:${height}" \
  -f lavfi -i "aevalsrc=(0.3*sin(2*PI*220*t)+0.15*sin(2*PI*440*t)+0.08*sin(2*PI*660*t))*(0.6+0.4*sin(2*PI*3*t)):s=44100:d=${seconds}" \
  -c:v libx264 -pix_fmt yuv444p -preset veryfast -c:a aac -b:a 128k "$tmp/source.mkv"

# Decode: every video frame as it comes (no frame-rate conversion), audio resampled to 16 kHz mono.
ffmpeg -nostdin -v error -y -i "$tmp/source.mkv" \
  -map 0:v:0 -fps_mode passthrough -f rawvideo -pix_fmt rgb24 "$tmp/frames.rgb" \
  -map 0:a:0 -f f32le -ac 1 -ar "$rate" "$tmp/audio.f32"

if command -v ffprobe >/dev/null; then
  size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$tmp/source.mkv")
  [[ $size == "${width}x${height}" ]] || { echo "$0: the encoded clip is $size, not ${width}x${height}" >&2; exit 1; }
fi
frame_bytes=$((width * height * 3))
rgb_size=$(stat -c %s "$tmp/frames.rgb")
audio_size=$(stat -c %s "$tmp/audio.f32")
if (( rgb_size == 0 || rgb_size % frame_bytes != 0 )); then
  echo "$0: ffmpeg wrote $rgb_size bytes of frames, not a whole number of ${width}x${height} RGB24 frames" >&2
  exit 1
fi
if (( audio_size == 0 || audio_size % 4 != 0 )); then
  echo "$0: ffmpeg wrote $audio_size bytes of audio, not a whole number of f32 samples" >&2
  exit 1
fi
frames=$((rgb_size / frame_bytes))
samples=$((audio_size / 4))

cat > "$tmp/clip.json" <<EOF
{
 "format": "hl-decoded-clip",
 "version": 1,
 "width": $width,
 "height": $height,
 "frames": $frames,
 "fps_num": $fps_num,
 "fps_den": $fps_den,
 "sample_rate": $rate,
 "samples": $samples
}
EOF

# clip.json last: a reader never sees a description of files that are not there yet.
mv -f "$tmp/frames.rgb" "$tmp/audio.f32" "$out/"
mv -f "$tmp/clip.json" "$out/clip.json"
echo "$out: $frames frames of ${width}x${height} at $fps_num/$fps_den fps, $samples samples at $rate Hz"
