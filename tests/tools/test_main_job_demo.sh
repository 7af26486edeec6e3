#!/usr/bin/env bash
# ctest test_main_job_demo (label slow): the main job's steps (tools/demo-job.sh) on a
# smaller scale — 4 generated videos of 30 s, 8 epochs — and checks, with references
# independent of hl:
#   - the held-out video's top 2 segments are the two planted events (events.csv, written
#     by the generator);
#   - its reel.mp4, as ffprobe counts it: 2 x 5 s = 10 s within one frame (1/25 s) for the
#     video and the audio stream, and 250 frames (2 x 5 s x 25 fps, boundaries on frames);
#   - the EDL has two events.
#   test_main_job_demo.sh SOURCE_DIR BIN OUT
# The report is opened in Chromium by test_report_in_chromium on the same OUT.
set -euo pipefail
src=$1 bin=$2 out=$3
fail() { echo "FAIL: $*"; exit 1; }

bash "$src/tools/demo-job.sh" "$bin" "$out" --videos 4 --seconds 30 --epochs 8 --seed 1 | tee "$out.log"
held_out=demo_03
result=$out/highlights/$held_out
planted=$(grep "^$held_out," "$out/data/events.csv" | cut -d, -f2 | sort -n | paste -sd,)
top=$(python3 -c 'import json, sys; print(",".join(map(str, json.load(open(sys.argv[1]))["top"])))' "$result/highlights.json")
echo "planted events $planted, top segments $top"
[ "$top" = "$planted" ] || fail "the top segments ($top) are not the planted events ($planted)"

probe() { ffprobe -v error -select_streams "$1" ${3:-} -show_entries "stream=$2" -of default=noprint_wrappers=1:nokey=1 "$result/reel.mp4"; }
video_seconds=$(probe v:0 duration) audio_seconds=$(probe a:0 duration) frames=$(probe v:0 nb_read_frames -count_frames)
echo "reel: video $video_seconds s, audio $audio_seconds s, $frames frames"
python3 - "$video_seconds" "$audio_seconds" "$frames" <<'PY' || fail "the reel is not the two chosen segments long"
import sys
video, audio, frames = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
frame = 1 / 25
ok = abs(video - 10) <= frame and abs(audio - 10) <= frame and frames == 250
sys.exit(0 if ok else 1)
PY
events=$(grep -cE '^[0-9]{3} +AX +AA/V +C ' "$result/highlights.edl")
[ "$events" -eq 2 ] || fail "the EDL has $events events, want 2"
echo "PASS"
