#!/usr/bin/env bash
# Generates the main job's sample videos with planted audiovisual events, and their labels.
#
#   tools/make-demo-videos.sh OUT COUNT SECONDS [SEED]
#
# Writes OUT/videos/demo_NN.mp4 (NN = 00 .. COUNT-1; 320x180, 25 fps, H.264/AAC) and
# OUT/labels.csv (video,segment,score: hl-train's label file). Every video is a calm
# scene — a dark green picture with grain, quiet brown noise — with two planted events,
# each one whole 5-s segment (hl's segment grid): a bright moving test pattern over the
# picture, a burst of crowd-like noise (pink noise with a 3-Hz tremolo) and a short
# phrase of espeak-ng speech. Event segments are labelled 2, the others 0. Which segments
# hold the events follows from SEED (default 1) and the video number, so a run is
# reproducible; OUT/events.csv lists them (video,segment).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 OUT COUNT SECONDS [SEED]" >&2
  exit 2
fi
out=$1 count=$2 seconds=$3 seed=${4:-1}
segments=$((seconds / 5))
if [ "$segments" -lt 3 ]; then
  echo "$0: SECONDS must be at least 15 (three 5-s segments)" >&2
  exit 2
fi
for tool in ffmpeg espeak-ng; do
  command -v "$tool" > /dev/null || { echo "$0: needs $tool (bash tools/setup.sh --runtime installs it)" >&2; exit 1; }
done
mkdir -p "$out/videos"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

phrases=("What a goal, incredible!" "Look at that, amazing!" "Yes! He scores!" "Unbelievable, what a moment!")
state=$seed
next_random() { state=$(( (state * 1103515245 + 12345) % 2147483648 )); }  # a fixed LCG: the same events everywhere

echo "video,segment,score" > "$work/labels.csv"
echo "video,segment" > "$work/events.csv"
for ((v = 0; v < count; v++)); do
  id=$(printf 'demo_%02d' "$v")
  # Two different event segments, never the first (the encoder's first second) or the last.
  next_random; first=$((1 + (state >> 16) % (segments - 2)))
  next_random; second=$((1 + (state >> 16) % (segments - 2)))
  [ "$second" -eq "$first" ] && second=$(( (first % (segments - 2)) + 1 ))
  events=("$first" "$second")
  enable=""
  for e in "${events[@]}"; do
    enable+="${enable:++}between(t,$((e * 5)),$((e * 5 + 5)))"
    echo "$id,$e" >> "$work/events.csv"
  done
  for ((s = 0; s < segments; s++)); do
    score=0
    for e in "${events[@]}"; do [ "$s" -eq "$e" ] && score=2; done
    echo "$id,$s,$score" >> "$work/labels.csv"
  done
  # Speech for each event, starting 1 s into it.
  speech_inputs=() speech_filters="" speech_labels=""
  for i in 0 1; do
    next_random
    espeak-ng -w "$work/speech$i.wav" "${phrases[$(((state >> 16) % ${#phrases[@]}))]}" 2> /dev/null
    speech_inputs+=(-i "$work/speech$i.wav")
    speech_filters+="[$((4 + i)):a]aresample=44100,adelay=$(((events[i] * 5 + 1) * 1000)):all=1,volume=2[s$i];"
    speech_labels+="[s$i]"
  done
  ffmpeg -hide_banner -loglevel error -nostdin -y \
    -f lavfi -i "color=c=0x1e3a2a:s=320x180:r=25:d=$seconds" \
    -f lavfi -i "testsrc2=s=320x180:r=25:d=$seconds" \
    -f lavfi -i "anoisesrc=c=brown:a=0.03:r=44100:d=$seconds:seed=$((seed * 1000 + v))" \
    -f lavfi -i "anoisesrc=c=pink:a=0.6:r=44100:d=$seconds:seed=$((seed * 1000 + v + 500))" \
    "${speech_inputs[@]}" \
    -filter_complex "[0:v]noise=alls=12:allf=t[calm];[1:v]eq=brightness=0.2[pattern];\
[calm][pattern]overlay=enable='$enable'[v];\
[3:a]tremolo=f=3:d=0.7,volume='$enable':eval=frame[crowd];$speech_filters\
[2:a][crowd]${speech_labels}amix=inputs=4:normalize=0:duration=first[a]" \
    -map "[v]" -map "[a]" -c:v libx264 -preset ultrafast -crf 26 -pix_fmt yuv420p -c:a aac -b:a 96k \
    -t "$seconds" "$out/videos/$id.mp4"
  echo "  $out/videos/$id.mp4: events in segments ${events[*]} ($((events[0] * 5))-$((events[0] * 5 + 5)) s, $((events[1] * 5))-$((events[1] * 5 + 5)) s)"
done
mv "$work/labels.csv" "$out/labels.csv"
mv "$work/events.csv" "$out/events.csv"
