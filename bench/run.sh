#!/usr/bin/env bash
# make bench: nginx + wrk, direct vs the reference proxy vs Headwater (plain, with a policy on the
# memory limiter, with a policy on Redis). Options: see bench/run.py --help.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec .venv/bin/python bench/run.py "$@"
