#!/usr/bin/env bash
# The multi-host test (tests/test_multihost.py, docs/operations.md "Multi-host test"): a web host,
# two worker hosts and a beat host in Linux network namespaces; one worker host is killed in the
# middle of the run. Needs root (`ip netns`), PostgreSQL and Redis as for `make test`
# (DATABASE_URL / REDIS_URL). Prints the measured report; pytest's arguments may follow.
set -euo pipefail
cd "$(dirname "$0")/.."
report=$(mktemp "${TMPDIR:-/tmp}/multihost-report-XXXXXX")
trap 'rm -f "$report"' EXIT
status=0
MULTIHOST_REPORT="$report" .venv/bin/python -m pytest tests/test_multihost.py -p no:cacheprovider "$@" || status=$?
if [[ -s $report ]]; then
  echo "Multi-host report:"
  cat "$report"
fi
exit $status
