#!/usr/bin/env bash
# make bench: nginx + wrk, direct vs the reference proxy vs Headwater (plain, with a policy on the
# memory limiter, with a policy on Redis). Options: see bench/run.py --help.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The load generator and the upstream come from Debian: install them on a fresh machine.
missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if ((${#missing[@]})); then
    echo "installing ${missing[*]} (Debian packages)"
    if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); else sudo=(); fi
    "${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null ||
        { "${sudo[@]}" apt-get update -q >/dev/null && "${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null; }
fi
exec .venv/bin/python bench/run.py "$@"
