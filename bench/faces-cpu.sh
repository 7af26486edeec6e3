#!/usr/bin/env bash
# The faces feature's cost per frame on the CPU (docs/features.md "faces"): hl-extract
# --features faces against facenet-pytorch's own MTCNN (bench/peers/mtcnn_peer.py) on
# the same decoded frames, single-threaded on both sides (OPENBLAS_NUM_THREADS=1,
# torch.set_num_threads(1)), at 640x360 and 1280x720: scikit-image's astronaut (one
# face) on a black band, 2 s at 30 fps (60 frames).
# Our figure is the detector alone: the wall time of a run that detects on every frame
# less that of one that detects on the first only (--faces-step 1000000: the same
# start-up, weights, decoding and writing), over the 59 frames in between. The peer's
# is its detect() time per frame, decoding excluded.
# Usage: bench/faces-cpu.sh [BUILD_DIR]   (default build; needs hl-extract and
# hl-convert built, and facenet-pytorch and scikit-image in .venv: tools/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
py=.venv/bin/python
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
data=$($py -c "import os, facenet_pytorch; print(os.path.join(os.path.dirname(facenet_pytorch.__file__), 'data'))")
"$build/tools/hl-convert" mtcnn "$data" --weights "$out/weights" >/dev/null
$py -c "from skimage import data; from PIL import Image; Image.fromarray(data.astronaut()).save('$out/astronaut.png')"

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

printf '%-10s %14s %18s %7s\n' size "hl ms/frame" "facenet ms/frame" ratio
for size in 640x360 1280x720; do
  w=${size%x*} h=${size#*x}
  video=$out/astronaut-$size.mp4
  ffmpeg -hide_banner -loglevel error -nostdin -y -loop 1 -i "$out/astronaut.png" -f lavfi -i sine=duration=2 \
    -vf "scale=$h:$h,pad=$w:$h:($w-$h)/2:0,format=yuv420p" -t 2 -r 30 -c:v libx264 -c:a aac -shortest "$video"
  run() { "$build/tools/hl-extract" --weights "$out/weights" --features faces --force --out "$out/f" "$@" "$video"; }
  every=$(seconds run --faces-step 1)
  first=$(seconds run --faces-step 1000000)
  ours=$(echo "1000 * ($every - $first) / 59" | bc -l)
  read -r peer frames < <($py bench/peers/mtcnn_peer.py "$video" "$w" "$h" --threads 1)
  printf '%-10s %14.1f %18.1f %6.2fx\n' "$size" "$ours" "$peer" "$(echo "$peer / $ours" | bc -l)"
done
