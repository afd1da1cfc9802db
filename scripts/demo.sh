#!/usr/bin/env bash
# The README demo: scan examples/vulnerable-app with every scanner, offline.
# The vulnerability data comes from the OSV zip the example ships.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
db=.pipeline-guard-cache/demo-osv.sqlite3
"$VENV/bin/pipeline-guard" db update --db "$db" --source examples/vulnerable-app/osv-demo/PyPI-all.zip || exit $?
"$VENV/bin/pipeline-guard" scan examples/vulnerable-app --stage release --db "$db" \
  --format console,json,sarif,markdown --output reports/
code=$?
if [ "$code" -eq 1 ]; then
  echo "exit code 1: the release gate FAILED, as it should on this deliberately vulnerable project."
  echo "Reports: reports/pipeline-guard.json, reports/pipeline-guard.sarif, reports/pipeline-guard.md"
  exit 0
fi
echo "unexpected exit code $code (expected 1: gate failed)" >&2
exit 1
