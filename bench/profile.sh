#!/usr/bin/env bash
# Profile Headwater with py-spy under wrk non-stream load; writes bench/results/profile-headwater.{txt,md}.
# py-spy is not a project dependency; install it into the virtualenv for profiling only:
#     .venv/bin/python -m pip install py-spy
# Options: --duration SECONDS (10), --rate HZ (100), --keep, --only reference (profile the
# reference proxy instead: bench/results/profile-reference.{txt,md}).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ! -x .venv/bin/py-spy ]] && ! command -v py-spy >/dev/null; then
    echo "py-spy is not installed: .venv/bin/python -m pip install py-spy" >&2
    exit 2
fi
exec .venv/bin/python bench/run.py --profile "$@"
