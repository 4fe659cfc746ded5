#!/usr/bin/env bash
# Wall-clock figures for the README: `abi --arch all` on the Linux 7.2 tree
# (best of 5), the simulated catalogue's cases per second, and the VM lane's
# boot-to-results time when its kernel is already built.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-.build/debug/uapi-conform}
headers=${HEADERS:-.deps/linux-libc-dev/usr/include}
best=""
report=$(mktemp)
for _ in 1 2 3 4 5; do
	t0=$(date +%s%N)
	"$bin" abi --headers "$headers" --arch all --format json >"$report" || true
	t=$(( ($(date +%s%N) - t0) / 1000000 ))
	if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
done
abis=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["abis"]))' "$report" 2>/dev/null || echo "?")
rm -f "$report"
printf 'abi --arch all (Linux 7.2, %s ABIs, %s cores): %d.%03d s (best of 5)\n' "$abis" "$(nproc)" $((best / 1000)) $((best % 1000))
for p in linux-7.2 tsm-v5; do
	"$bin" bench-sim --profile "$p"
done

# The VM lane, when the kernel is already built (it is never built here).
if kernel=$(scripts/build-kernel.sh --print-path 2>/dev/null); then
	out=$(mktemp -d)
	t0=$(date +%s%N)
	scripts/run-vm.sh --kernel "$kernel" --out "$out" -- "$PWD/$bin" run --backend live --profile tsm-v5 --format json >/dev/null 2>&1 || true
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	python3 - "$out/stdout" "$ms" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); s = d["summary"]; ran = s["pass"] + s["fail"]
print(f"VM lane (TCG): boot to results {int(sys.argv[2]) / 1000:.1f} s wall; live cases run {ran} "
      f"({s['skip']} skipped) in {s['elapsed_s']:.2f} s = {ran / max(s['elapsed_s'], 1e-9):.0f} cases/s")
PY
	rm -rf "$out"
else
	echo "VM lane: kernel not built (make kernel), not timed"
fi
