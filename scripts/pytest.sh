#!/usr/bin/env bash
# Runs the whole pytest suite. pytest exits 5 when it collected no test: that is a failure here,
# because a suite that runs nothing proves nothing.
set -u
# Two workers (the machine's two cores; most tests wait on servers they started), each test file on
# one worker so that its module-scoped servers start once.
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile --durations=20 "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
