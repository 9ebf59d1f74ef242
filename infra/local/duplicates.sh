#!/usr/bin/env bash
# Fails when the `duplicates` tool (this workplace's repeated-code finder, /usr/local/bin/duplicates) lists a
# pair of places sharing six or more lines in the tracked tree, except rows the tool itself marks
# `boilerplate` (thin or folder-wide shapes such as data tables) and file pairs accepted, with the reason, in
# infra/local/duplicates-allowed.txt. Skipped, with a note, where the tool is not installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v duplicates >/dev/null; then
  echo "duplicates: tool not installed here, check skipped"
  exit 0
fi
out=$(duplicates --most 200 --seconds 120)
allowed=$(grep -v '^#' infra/local/duplicates-allowed.txt | sed 's/ *#.*//' | grep -v '^$' || true)
found=0
while read -r id a _ b rest; do
  [[ "$id" =~ ^D[0-9]+$ ]] || continue
  [[ "$rest" == *boilerplate* ]] && continue
  pair="${a%%:*} ~ ${b%%:*}"
  grep -qxF "$pair" <<<"$allowed" && continue
  echo "$id $a ~ $b $rest"
  found=1
done <<<"$out"
if grep -qE '^incomplete:|more pairs\)' <<<"$out"; then  # unread, or rows past --most: not checked
  grep -E '^incomplete:|more pairs\)' <<<"$out"
  found=1
fi
if (( found )); then
  echo "duplicates: the rows above repeat code; make one place serve both (or accept the pair, with its reason, in infra/local/duplicates-allowed.txt)"
  exit 1
fi
echo "duplicates: clean ($(head -n1 <<<"$out"))"
