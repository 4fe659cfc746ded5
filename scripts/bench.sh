#!/usr/bin/env bash
# Wall-clock figures for the README: `abi --arch all` on the Linux 7.2 tree
# (best of 5), the simulated catalogue's cases per second, the VM lane's
# boot-to-results time when its kernel is already built (and with the
# --fail-nth sweep: entries, injected runs, wall time), and the patch lane
# (`vm --patch`) from patch to results on the built 7.2 tree (warm) and, with
# BENCH_COLD=1, from nothing (its own empty cache: download, base build, patch).
# The patch lane needs the posted series: TSM_SERIES=FILE, or the shared seed.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-.build/debug/uapi-conform}
headers=${HEADERS:-.deps/linux-libc-dev/usr/include}
best=""
# Everything the bench writes lives in one scratch dir, removed however it ends.
scratch=$(mktemp -d)
kdir="${UAPI_CONFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uapi-conform}/kernel"
restore() {  # put back the patched kernels the warm patch lane set aside
	[ -d "$kdir/patched.bench-aside" ] || return 0
	rm -rf "$kdir/patched" && mv "$kdir/patched.bench-aside" "$kdir/patched"
}
trap 'restore; rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
report=$scratch/abi.json
for _ in 1 2 3 4 5; do
	t0=$(date +%s%N)
	"$bin" abi --headers "$headers" --arch all --format json >"$report" || true
	t=$(( ($(date +%s%N) - t0) / 1000000 ))
	if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
done
abis=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["abis"]))' "$report" 2>/dev/null || echo "?")
printf 'abi --arch all (Linux 7.2, %s ABIs, %s cores): %d.%03d s (best of 5)\n' "$abis" "$(nproc)" \
	$((best / 1000)) $((best % 1000))
for p in linux-7.2 tsm-v5; do
	"$bin" bench-sim --profile "$p"
done
# The differential fuzzer (issue 11): generated calls per second, probes not counted.
"$bin" fuzz --backend sim --calls 1000000 --seed 1 --out "$scratch/fuzz" | tail -n 1 |
	sed 's/^fuzz:/fuzz --backend sim:/'
"$bin" fuzz --backend sim+sim --calls 1000000 --seed 1 --out "$scratch/fuzz" | tail -n 1 |
	sed 's/^fuzz:/fuzz --backend sim+sim:/'

# The kernel's own iommufd selftests under sim-exec (issue 10), when their build is cached.
kst=${KSELFTEST_DIR:-$(ls -d "${kdir%/kernel}"/kselftest/*/ 2>/dev/null | head -n 1)}
if [ -n "$kst" ] && [ -x "$kst/iommufd" ]; then
	BIN=$bin scripts/kselftest-diff.sh --time 3 --kselftest "$kst" --out "$scratch/kst" || true
else
	echo "kernel selftests under sim-exec: not built (make kselftest)"
fi

# The VM lane, when the kernel is already built (it is never built here).
if kernel=$(scripts/build-kernel.sh --print-path 2>/dev/null); then
	# The differential against the lane kernel: the generator and the simulator here, the ioctls in
	# the guest (uapi-fuzz-exec, one per vCPU); a million calls from a fixed seed.
	out=$scratch/fuzzvm && mkdir "$out"
	"$bin" vm --timeout 900 --kernel "$kernel" --out "$out" -- fuzz --backend sim+live --profile linux-7.2 \
		--calls "${BENCH_FUZZ_CALLS:-1000000}" --seed 5 --out "$out" >"$out/log" 2>&1 || true
	grep -E '^fuzz: [0-9]|^finding|^kernel report' "$out/log" | sed 's/^fuzz:/fuzz --backend sim+live (VM, TCG):/' ||
		echo "fuzz --backend sim+live (VM): no figures; see a run of make fuzz-live"
	rm -rf "$out"
	out=$scratch/run1 && mkdir "$out"
	t0=$(date +%s%N)
	scripts/run-vm.sh --vfio-edu --kernel "$kernel" --out "$out" -- "$PWD/$bin" run --backend live \
		--allow-destructive --profile tsm-v5 --format json >/dev/null 2>&1 || true
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	python3 - "$out/stdout" "$ms" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); s = d["summary"]; ran = s["pass"] + s["fail"]
print(f"VM lane (TCG): boot to results {int(sys.argv[2]) / 1000:.1f} s wall; live cases run {ran} "
      f"({s['skip']} skipped) in {s['elapsed_s']:.2f} s = {ran / max(s['elapsed_s'], 1e-9):.0f} cases/s")
PY
	rm -rf "$out"
	# The fail-nth sweep over the same catalogue (issue 9): injected runs and wall time.
	out=$scratch/run2 && mkdir "$out"
	t0=$(date +%s%N)
	scripts/run-vm.sh --vfio-edu --kernel "$kernel" --out "$out" -- "$PWD/$bin" run --backend live \
		--allow-destructive --fail-nth --profile tsm-v5 --format json >/dev/null 2>&1 || true
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	python3 - "$out/stdout" "$ms" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("VM lane --fail-nth: no report"); sys.exit(0)
s = d["summary"]
runs = next((n.split(": ", 1)[1] for n in d.get("notes", []) if n.startswith("fail-nth: ")), "? injected runs")
sweep = sum(1 for c in d["results"] if c["id"].startswith("fail_nth."))
print(f"VM lane --fail-nth (TCG): boot to results {int(sys.argv[2]) / 1000:.1f} s wall; {sweep} fail_nth entries, "
      f"{runs}; {s['fail']} failed")
PY
	rm -rf "$out"
else
	echo "VM lane: kernel not built (make kernel), not timed"
fi

# The patch lane: prerequisite + series, a fresh build of them on the lane's tree.
series=${TSM_SERIES:-../shared/seeds/003_8b13c600f6877063.txt}
patch_lane() {  # $1: label; the cache in UAPI_CONFORM_CACHE
	local out t0 ms
	out=$scratch/run3 && mkdir "$out"
	t0=$(date +%s%N)
	"$bin" vm --patch fixtures/kernel/tsm-v5-prereq.patch --patch "$series" --out "$out" >/dev/null 2>"$out/log" || true
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	build=$(grep -o 'build (patched): [0-9]*s' "$out/log" | grep -o '[0-9]*s$' || echo "?")
	base=$(grep -o 'build (base): [0-9]*s' "$out/log" | grep -o '[0-9]*s$' || echo "-")
	live=$(grep -o 'IOMMU_VDEVICE_TSM_REQ: [0-9]* cases ran live' "$out/summary.txt" 2>/dev/null |
		grep -o '[0-9]* cases' || echo "?")
	printf 'patch lane (%s): patch to results %d.%d s (base build %s, patched build %s); TSM_REQ %s live\n' \
		"$1" $((ms / 1000)) $(( (ms % 1000) / 100 )) "$base" "$build" "$live"
	case $live in "?" | "0 cases") ;; *) rm -rf "$out"; return ;; esac
	{ echo "patch lane ($1): no results; the run said:"; tail -n 5 "$out/log"; }
	rm -rf "$out"
}
if [ ! -r "$series" ]; then
	echo "patch lane: no series (TSM_SERIES=FILE), not timed"
elif scripts/build-kernel.sh --print-path >/dev/null 2>&1; then
	# Warm: the 7.2 tree is built; the patched kernels are set aside (and put back)
	# so that the series is built again without losing the user's cached ones.
	restore
	[ ! -d "$kdir/patched" ] || mv "$kdir/patched" "$kdir/patched.bench-aside"
	patch_lane "warm, 7.2 tree built"
	restore
else
	echo "patch lane (warm): the 7.2 tree is not built (make kernel), not timed"
fi
if [ "${BENCH_COLD:-0}" = 1 ] && [ -r "$series" ]; then
	mkdir "$scratch/cold-cache"
	UAPI_CONFORM_CACHE=$scratch/cold-cache patch_lane "cold, empty cache"
fi
