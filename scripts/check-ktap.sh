#!/usr/bin/env bash
# Parse a KTAP report with the kernel's own parser (kunit.py parse, from the
# lane's kept 7.2 tree) and check its counts equal the report's Totals line.
#   scripts/check-ktap.sh FILE...
set -euo pipefail
cache=${UAPI_CONFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uapi-conform}
kunit=$(ls "$cache"/kernel/tree-*/linux-source-7.2/tools/testing/kunit/kunit.py 2>/dev/null | head -n1 || true)
[ -n "$kunit" ] || { echo "check-ktap: no kunit.py (the lane's 7.2 tree is not built: make kernel)" >&2; exit 2; }
for f in "$@"; do
	f=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")
	totals=$(grep '^# Totals:' "$f" | tail -n1)
	pass=$(sed -n 's/.* pass:\([0-9]*\).*/\1/p' <<<"$totals"); fail=$(sed -n 's/.* fail:\([0-9]*\).*/\1/p' <<<"$totals")
	skip=$(sed -n 's/.* skip:\([0-9]*\).*/\1/p' <<<"$totals")
	line=$(python3 "$kunit" parse "$f" 2>&1 | grep 'Testing complete' | tail -n1 || true)
	want="Ran $((pass + fail + skip)) tests: passed: $pass"
	[ "$fail" -eq 0 ] || want+=", failed: $fail"
	[ "$skip" -eq 0 ] || want+=", skipped: $skip"
	case $line in
		*"$want") echo "check-ktap: $f: kunit.py agrees ($want)" ;;
		*) echo "check-ktap: $f: kunit.py says '${line#*] }', the report's totals say '$want'" >&2; exit 1 ;;
	esac
done
