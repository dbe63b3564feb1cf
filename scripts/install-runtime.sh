#!/usr/bin/env bash
# Installs Headwater's runtime into a fresh virtual environment: scripts/install-runtime.sh DIR [WHEEL]
#
# The one way Headwater's runtime is installed for production: the Containerfile runs it, and
# tests/deploy/test_image.py runs it into a fresh temporary directory, so what an image holds is what
# was tested. It installs exactly requirements.lock (every file's hash checked, wheels only: no
# compiler, nothing resolved), then the Headwater wheel without dependencies, then checks the result
# (`pip check`, `headwater version`).
#
# DIR must not exist yet (or be empty). WHEEL defaults to the one headwater-*.whl in dist/ (`make wheel`).
# PYTHON picks the interpreter (default python3). pip's own settings (PIP_INDEX_URL, PIP_FIND_LINKS,
# ...) choose where packages come from.
set -euo pipefail

usage() { echo "usage: $0 DIR [WHEEL]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
dir=$1
root=$(cd "$(dirname "$0")/.." && pwd)
lock=$root/requirements.lock

if [ $# -eq 2 ]; then
  wheel=$2
else
  shopt -s nullglob
  wheels=("$root"/dist/headwater-*.whl)
  shopt -u nullglob
  [ ${#wheels[@]} -eq 1 ] || { echo "error: expected one headwater-*.whl in $root/dist, found ${#wheels[@]}; pass WHEEL" >&2; exit 2; }
  wheel=${wheels[0]}
fi
[ -f "$wheel" ] || { echo "error: no wheel at $wheel" >&2; exit 2; }
[ -f "$lock" ] || { echo "error: no lock file at $lock" >&2; exit 2; }
if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
  echo "error: $dir exists and is not empty; the runtime is installed into a fresh directory" >&2
  exit 2
fi

"${PYTHON:-python3}" -m venv "$dir"
pip=("$dir/bin/python" -m pip --no-input --disable-pip-version-check)
"${pip[@]}" install --quiet --require-hashes --only-binary :all: -r "$lock"
"${pip[@]}" install --quiet --no-deps --no-index "$wheel"
"${pip[@]}" check
"$dir/bin/headwater" version
