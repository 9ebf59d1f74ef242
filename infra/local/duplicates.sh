#!/usr/bin/env bash
# Fails when the `duplicates` tool (this workplace's repeated-code finder, /usr/local/bin/duplicates) lists
# any pair of places sharing six or more lines in the tracked tree. Skipped, with a note, where the tool is
# not installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v duplicates >/dev/null; then
  echo "duplicates: tool not installed here, check skipped"
  exit 0
fi
out=$(duplicates --most 50 --seconds 120)
first=$(head -n1 <<<"$out")
if [[ "$first" =~ ^No\ duplicates ]]; then
  echo "duplicates: clean"
  exit 0
fi
echo "$out"
exit 1
