#!/usr/bin/env bash
# Installs everything hl needs on a Debian machine, idempotently: the Debian packages
# (compilers, libraries, the reference frameworks) and a Python virtual environment in
# .venv that sees Debian's torch and adds the PyPI packages the golden tests use.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev googletest libbenchmark-dev
  python3 python3-venv python3-numpy python3-torch python3-torchaudio python3-torchvision python3-pil
  python3-sklearn python3-scipy
  libzip-dev libstb-dev libjpeg62-turbo-dev
  clang espeak-ng
  clang-22 libc++-22-dev libc++abi-22-dev  # tools/check-headers.sh: libc++ >= 20
  ffmpeg libavformat-dev libavcodec-dev libswscale-dev libswresample-dev libavutil-dev
  slurm-wlm munge  # tests/scale_out: a single-node Slurm cluster
)
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
.venv/bin/python -c "import torch, safetensors, sklearn, scipy" || { echo "setup: the venv cannot import torch, safetensors, sklearn and scipy" >&2; exit 1; }
echo "setup: done"
