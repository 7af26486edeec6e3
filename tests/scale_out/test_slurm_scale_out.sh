#!/usr/bin/env bash
# hl on a real single-node Slurm cluster (slurm_cluster.sh), with the job scripts users
# submit (deploy/slurm/*.sbatch):
#   1. sbatch --array=0-2 of hl-extract --shard auto over generated videos (mfcc) gives
#      the files of one unsharded run, byte for byte;
#   2. an element is stopped (SIGSTOP, so that the moment is not left to chance) while it
#      works on its last input, a 40-minute audio file, and scancel'ed; resubmitted alone
#      (--array=T, --shard auto/2) it computes only that input, and the files it had
#      written are not rewritten (same inode and mtime);
#   3. a single-feature study as an array of 3 plus a --collect job depending on it
#      equals the unsharded study, byte for byte.
# Exit 77 (ctest: skipped) with the reason only when the Slurm daemons cannot start.
# Usage: test_slurm_scale_out.sh BIN_DIR   (the folder holding hl-extract, hl-train, hl-synth)
set -euo pipefail
[[ -n ${HL_TEST_TRACE:-} ]] && set -x
bin=$(cd "${1:?usage: test_slurm_scale_out.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/hl-slurm-test.XXXXXX)
cleanup() {
  bash "$here/slurm_cluster.sh" stop "$work/cluster" || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { echo "== $(date +%T) $*"; }
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/logs/*; do [[ -f $f ]] && { echo "--- $f"; cat "$f"; }; done >&2
  exit 1
}

step "starting slurmctld and slurmd"
set +e
bash "$here/slurm_cluster.sh" start "$work/cluster" 2
rc=$?
set -e
if [[ $rc -eq 77 ]]; then echo "SKIPPED: the Slurm daemons cannot start (reason above)"; exit 77; fi
[[ $rc -eq 0 ]] || fail "slurm_cluster.sh start: exit $rc"
export SLURM_CONF=$work/cluster/slurm.conf
mkdir -p "$work/logs"

# Waits until every element of job $1 has left the queue (at most 120 s).
wait_job() {
  local i
  for i in $(seq 400); do
    [[ -z $(squeue -h -j "$1" -o %i 2>/dev/null) ]] && return 0
    sleep 0.3
  done
  fail "job $1 still queued after 120 s: $(squeue -j "$1" 2>&1)"
}
# The states of job $1's elements, one "STATE EXITCODE" line each.
job_states() { scontrol -o show job "$1" | sed -E 's/.*JobState=([A-Z_]+).* ExitCode=([0-9:]+).*/\1 \2/'; }
expect_completed() {  # jobid
  local bad
  bad=$(job_states "$1" | grep -v '^COMPLETED 0:0$' || true)
  [[ -z $bad ]] || fail "job $1: elements not COMPLETED 0:0: $bad"
}
same_tree() {  # a b: the same files, byte for byte
  local a=$1 b=$2
  diff <(cd "$a" && find . -type f | sort) <(cd "$b" && find . -type f | sort) || fail "$a and $b hold different files"
  while IFS= read -r f; do cmp -s "$a/$f" "$b/$f" || fail "$b/$f differs from $a/$f"; done < <(cd "$a" && find . -type f)
}
# The shard index of a video id among N: FNV-1a 64 of the id mod N, computed here
# independently of hl (offset basis and prime of the published FNV-1a).
shard_of() {
  python3 -c 'import sys
h = 0xcbf29ce484222325
for b in sys.argv[1].encode(): h = ((h ^ b) * 0x100000001b3) % 2**64
print(h % int(sys.argv[2]))' "$1" "$2"
}

step "generating 6 short videos with the ffmpeg CLI"
mkdir -p "$work/media"
for i in 0 1 2 3 4 5; do
  ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i "testsrc=size=32x24:rate=25:duration=$((2 + i % 3))" \
    -f lavfi -i "sine=frequency=$((300 + 70 * i)):sample_rate=16000:duration=$((2 + i % 3))" \
    -c:v mpeg4 -c:a aac -shortest "$work/media/v$i.mp4"
  echo "$work/media/v$i.mp4" >> "$work/list.txt"
done

# ---------------------------------------------------------------------------------------
step "1. hl-extract: unsharded run, then sbatch --array=0-2 with --shard auto"
"$bin/hl-extract" --list "$work/list.txt" --features mfcc --out "$work/ref" > "$work/logs/ref.out" 2>&1 \
  || fail "unsharded hl-extract"
jid=$(HL_LIST=$work/list.txt HL_OUT=$work/arr HL_FEATURES=mfcc HL_BIN=$bin \
  sbatch --parsable --array=0-2 --cpus-per-task=1 --mem=200M --output="$work/logs/extract-%a.out" \
  "$src/deploy/slurm/extract.sbatch")
wait_job "$jid"
expect_completed "$jid"
for t in 0 1 2; do
  grep -q "(Slurm array task $t: shard $t/3: " "$work/logs/extract-$t.out" || fail "element $t did not take shard $t/3"
done
same_tree "$work/ref" "$work/arr"
echo "ok: $(find "$work/arr" -type f | wc -l) feature files from 3 elements == the unsharded run"

# ---------------------------------------------------------------------------------------
step "2. an element cancelled while on its last input, resubmitted alone"
cp "$work/list.txt" "$work/list2.txt"
# Last in the list, so the element's other videos are done first; about 4 s of MFCC.
ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i "sine=frequency=500:sample_rate=16000:duration=2400" \
  "$work/media/slow.wav"
echo "$work/media/slow.wav" >> "$work/list2.txt"
t=$(shard_of slow 2)
mine=()
for i in 0 1 2 3 4 5; do [[ $(shard_of "v$i" 2) == "$t" ]] && mine+=("v$i"); done
[[ ${#mine[@]} -gt 0 ]] || fail "test set-up: shard $t/2 holds no video besides slow"
jid=$(HL_LIST=$work/list2.txt HL_OUT=$work/can HL_FEATURES=mfcc HL_BIN=$bin HL_SHARD=auto/2 \
  sbatch --parsable --array=0-1 --cpus-per-task=1 --mem=200M --output="$work/logs/cancel-%a.out" \
  "$src/deploy/slurm/extract.sbatch")
for i in $(seq 1200); do  # until element t has written its other videos
  done_count=0
  for v in "${mine[@]}"; do [[ -f $work/can/$v.safetensors ]] && done_count=$((done_count + 1)); done
  [[ $done_count -eq ${#mine[@]} ]] && break
  sleep 0.1
done
[[ $done_count -eq ${#mine[@]} ]] || fail "element $t wrote $done_count of ${#mine[@]} files in 120 s"
# The batch step's processes (the script execs hl-extract): stopped where they are.
element=$(squeue -h -j "${jid}_$t" -o %A)
pids=$(SLURMD_NODENAME=$(hostname -s) scontrol listpids "$element" 2>&1 | awk 'NR > 1 && $1 ~ /^[0-9]+$/ {print $1}' || true)
[[ -n $pids ]] || fail "scontrol listpids $element (element $t): no processes"
# shellcheck disable=SC2086
kill -STOP $pids
[[ ! -e $work/can/slow.safetensors ]] \
  || fail "element $t finished slow.wav before it could be stopped (a machine this slow needs a longer input)"
[[ $(squeue -h -j "${jid}_$t" -o %T) == RUNNING ]] || fail "element $t is not running"
scancel "${jid}_$t"
wait_job "$jid"
[[ $(scontrol -o show job "${jid}_$t" | sed -E 's/.*JobState=([A-Z_]+).*/\1/') == CANCELLED ]] \
  || fail "element $t: $(job_states "${jid}_$t")"
[[ ! -e $work/can/slow.safetensors ]] || fail "slow.safetensors exists after the cancel"
before=$(for v in "${mine[@]}"; do stat -c "%n %i %.9Y" "$work/can/$v.safetensors"; done)
jid2=$(HL_LIST=$work/list2.txt HL_OUT=$work/can HL_FEATURES=mfcc HL_BIN=$bin HL_SHARD=auto/2 \
  sbatch --parsable --array="$t" --cpus-per-task=1 --mem=200M --output="$work/logs/rerun-%a.out" \
  "$src/deploy/slurm/extract.sbatch")
wait_job "$jid2"
expect_completed "$jid2"
after=$(for v in "${mine[@]}"; do stat -c "%n %i %.9Y" "$work/can/$v.safetensors"; done)
[[ $before == "$after" ]] || fail "files written before the cancel were rewritten: before [$before], after [$after]"
grep -q "hl-extract: 1 ok, ${#mine[@]} skipped (up to date), 0 failed (Slurm array task $t: shard $t/2: " \
  "$work/logs/rerun-$t.out" || fail "the resubmitted element did not skip its ${#mine[@]} done files"
"$bin/hl-extract" --list "$work/list2.txt" --features mfcc --out "$work/ref2" > "$work/logs/ref2.out" 2>&1 \
  || fail "unsharded hl-extract of list2"
same_tree "$work/ref2" "$work/can"
echo "ok: element $t resubmitted computed slow only; ${#mine[@]} files kept; all == the unsharded run"

# ---------------------------------------------------------------------------------------
step "3. a single-feature study: array of 3 + a --collect job after it"
"$bin/hl-synth" --out "$work/synth" --videos 9 --seconds 30,45 --seed 4 --features affect,faces \
  --strength affect=2,faces=1 > "$work/logs/synth.out" 2>&1 || fail "hl-synth"
args="--study single --use affect,faces --folds 3 --epochs 2 --batch 16 --seed 9"
# shellcheck disable=SC2086
"$bin/hl-train" --features "$work/synth/features" --labels "$work/synth/labels.csv" --out "$work/study-ref" $args \
  > "$work/logs/study-ref.out" 2>&1 || fail "unsharded study"
export HL_FEATURE_DIR=$work/synth/features HL_LABELS=$work/synth/labels.csv HL_OUT=$work/study HL_BIN=$bin
export HL_TRAIN_ARGS=$args
jid=$(sbatch --parsable --array=0-2 --cpus-per-task=1 --mem=300M --output="$work/logs/study-%a.out" \
  "$src/deploy/slurm/study.sbatch")
cid=$(HL_COLLECT=1 sbatch --parsable --dependency=afterok:"$jid" --cpus-per-task=1 --mem=300M \
  --output="$work/logs/collect.out" "$src/deploy/slurm/study.sbatch")
wait_job "$jid"
expect_completed "$jid"
wait_job "$cid"
expect_completed "$cid"
same_tree "$work/study-ref" "$work/study"
echo "ok: study from 3 elements + collect == the unsharded study ($(find "$work/study" -type f | wc -l) files)"
step "done"
