#!/usr/bin/env bash
# Runs the whole pytest suite. pytest exits 5 when it collected no test: that is a failure here,
# because a suite that runs nothing proves nothing.
set -u
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
