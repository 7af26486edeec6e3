#!/usr/bin/env bash
# The main job's steps on built tools (tools/run-main.sh installs and builds first):
#
#   tools/demo-job.sh BIN OUT [--videos N] [--seconds S] [--epochs E] [--seed SEED]
#
# BIN holds hl-extract, hl-train and hl-highlights; everything is written under OUT.
#   1. tools/make-demo-videos.sh: N sample videos (default 6) of S seconds (default 40)
#      with two planted audiovisual events each (crowd-like noise, espeak-ng speech, a
#      bright moving pattern; one 5-s segment each), labels 2 on the event segments and 0
#      elsewhere: OUT/data/{videos/,labels.csv,events.csv};
#   2. hl-extract: the features it can compute: mfcc, plus googlenet when the converted
#      googlenet weights are in the weights folder ($HL_WEIGHTS, else
#      ${XDG_DATA_HOME:-~/.local/share}/hl/weights; docs/weights.md): OUT/features;
#   3. hl-train --final: the demo model from every video but the last: OUT/model;
#   4. hl-highlights --reel --top 2 on the last video, which the model never saw: prints
#      its top segments and the planted ones, and where the reel, EDL and report are.
# Exit 0 also when the planted events are not the top segments (it says so); the ctest
# test_main_job_demo checks that they are.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 BIN OUT [--videos N] [--seconds S] [--epochs E] [--seed SEED]" >&2
  exit 2
fi
bin=$1 out=$2
shift 2
videos=6 seconds=40 epochs=15 seed=1
while [ $# -gt 0 ]; do
  case $1 in
    --videos) videos=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "$0: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ "$videos" -lt 3 ]; then
  echo "$0: --videos must be at least 3 (training, validation and a held-out video)" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
export HL_NO_PROGRESS=1

echo "== 1. sample videos with planted events ($videos videos of $seconds s)"
rm -rf "$out"
mkdir -p "$out"
bash "$here/make-demo-videos.sh" "$out/data" "$videos" "$seconds" "$seed"
held_out=$(printf 'demo_%02d' $((videos - 1)))
grep -v "^$held_out," "$out/data/labels.csv" > "$out/data/train_labels.csv"

features=mfcc
weights=${HL_WEIGHTS:-${XDG_DATA_HOME:-$HOME/.local/share}/hl/weights}
if [ -f "$weights/googlenet.safetensors" ]; then
  features=googlenet,mfcc
else
  echo "   (no converted googlenet weights in $weights: mfcc only; docs/weights.md says how to make them)"
fi

echo "== 2. features: $features"
"$bin/hl-extract" --features "$features" --out "$out/features" --log-level warn "$out"/data/videos/*.mp4

echo "== 3. the demo model: hl-train --final on the $((videos - 1)) videos other than $held_out"
"$bin/hl-train" --features "$out/features" --labels "$out/data/train_labels.csv" --use "$features" \
  --out "$out/model" --final --epochs "$epochs" --seed "$seed" --log-level warn

echo "== 4. hl-highlights on $held_out (not trained on)"
"$bin/hl-highlights" "$out/data/videos/$held_out.mp4" --model "$out/model/model.safetensors" \
  --features-cache "$out/features" --out "$out/highlights" --top 2 --reel --log-level warn
result=$out/highlights/$held_out
planted=$(grep "^$held_out," "$out/data/events.csv" | cut -d, -f2 | sort -n | tr '\n' ' ')
found=$(sed -n 's/.*"top": *\[\(.*\)\].*/\1/p' <(tr -d '\n ' < "$result/highlights.json") | tr ',' ' ')
echo
echo "top segments of $held_out: ${found} (5-s segments; planted events: ${planted% })"
if [ "$(echo $found)" = "$(echo $planted)" ]; then
  echo "the planted events were found"
else
  echo "the planted events were NOT both found"
fi
echo "reel:   $result/reel.mp4"
echo "EDL:    $result/highlights.edl"
echo "report: $result/report.html"
echo "scores: $result/segments.csv, $result/highlights.json"
