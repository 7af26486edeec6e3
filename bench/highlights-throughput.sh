#!/usr/bin/env bash
# hl-highlights throughput, decode to report (docs/benchmarks.md, "Streaming latency and
# hl-highlights throughput"): seconds of video scored per second of wall time, on a
# generated 720p 29.97-fps H.264/AAC video, for an mfcc model and a googlenet + mfcc
# model (random weights from hl-bench-stream --write-models: the work does not depend
# on the values), everything hl-highlights writes included (CSV, JSON, EDL, HTML
# report). The ffmpeg command line's decode of the same file is timed for reference.
#
#   bench/highlights-throughput.sh [BUILD_DIR] [MFCC_SECONDS] [VISUAL_SECONDS]
# defaults: build-cpu, 600 and 600 (10-minute videos for both; the googlenet run takes
# about 20 minutes on a loaded 2-core machine: pass a smaller VISUAL_SECONDS for a quick
# look, and say so beside its figure).
set -euo pipefail
build=${1:-build-cpu}
mfcc_seconds=${2:-600}
visual_seconds=${3:-600}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/bench/hl-bench-stream" --write-models "$work/models"
make_video() {  # seconds, path
  ffmpeg -hide_banner -loglevel error -nostdin -y \
    -f lavfi -i "testsrc2=size=1280x720:rate=30000/1001:duration=$1" \
    -f lavfi -i "anoisesrc=color=pink:sample_rate=48000:amplitude=0.2:duration=$1" \
    -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -c:a aac -b:a 128k "$2"
}
seconds_of() {  # command... -> wall seconds
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.2f}')"
}
run() {  # label, video seconds, video, model, extra args...
  local label=$1 seconds=$2 video=$3 model=$4
  shift 4
  local decode t
  decode=$(seconds_of ffmpeg -hide_banner -loglevel error -nostdin -i "$video" -f null -)
  t=$(HL_NO_PROGRESS=1 seconds_of "$build/tools/hl-highlights" "$video" --model "$model" --out "$work/out-$label" "$@")
  python3 -c "print(f'$label: {$seconds} s of 720p video in {$t} s: {$seconds / $t:.2f} s of video per second (the ffmpeg CLI decodes the file in {$decode} s)')"
}

make_video "$mfcc_seconds" "$work/mfcc.mp4"
run mfcc "$mfcc_seconds" "$work/mfcc.mp4" "$work/models/mfcc.safetensors"
make_video "$visual_seconds" "$work/visual.mp4"
run googlenet+mfcc "$visual_seconds" "$work/visual.mp4" "$work/models/googlenet-mfcc.safetensors" --weights "$work/models/weights"
