#!/usr/bin/env bash
# The coverage lane (make coverage): which iommufd/vfio kernel code the live
# catalogue reaches, next to what the kernel's own iommufd selftests reach.
# Builds 7.2 with fixtures/kernel/coverage.diff (gcov on iommufd and vfio),
# boots it once: gcov reset, catalogue live, .gcda copied out; reset,
# selftests, .gcda copied out; then scripts/coverage-report.py on the host.
# With TSM_SERIES=FILE the same again on 7.2 + tsm-v5-prereq + the series.
#   [TSM_SERIES=FILE] scripts/coverage.sh
# Env: BIN (default .build/debug/uapi-conform), COVERAGE_TIMEOUT (VM seconds,
#      default 600; a run takes ~95 s), KSELFTEST_TIMEOUT (seconds per selftest
#      binary, 300).
# Results: out/coverage/{coverage.json,index.html,files/,vm/}, and for the
# TSM kernel out/coverage/tsm/ (same layout). Exit 0 when the reports were
# made, whatever the figures; 2 on bad input or a missing prerequisite; 1
# when the lane broke (boot, no data, report); a failed build passes on
# build-kernel.sh's or build-kselftest.sh's status.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
die() { echo "coverage: error: $*" >&2; exit 2; }
broke() { echo "coverage: the lane broke: $*" >&2; exit 1; }
say() { echo "coverage: $*" >&2; }

bin=${BIN:-.build/debug/uapi-conform}
series=${TSM_SERIES:-}
vm_timeout=${COVERAGE_TIMEOUT:-600}
kst_timeout=${KSELFTEST_TIMEOUT:-300}
[ -x "$bin" ] || die "$bin is not built (make build)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[ -z "$series" ] || [ -r "$series" ] || die "TSM_SERIES '$series' is not a readable file"
for n in "$vm_timeout" "$kst_timeout"; do case $n in ''|*[!0-9]*|0) die "timeouts are whole seconds above 0, got '$n'" ;; esac; done
command -v gcov-12 >/dev/null || die "gcov-12 not found (gcc-12, the kernel's compiler)"
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 not found (Debian's python3)"
t0=$(date +%s)
rm -rf out/coverage
mkdir -p out/coverage

# The guest half: one boot, two runs, each between a gcov reset and a copy
# of every .gcda (debugfs reports size 0, so cat, not cp -r or tar).
# Args: OUT BIN PROFILE KSELFTEST_DIR BUILD_DIR KSELFTEST_TIMEOUT.
read -r -d '' guest <<'GUEST' || true
out=$1 bin=$2 profile=$3 kst=$4 gcov=/sys/kernel/debug/gcov$5 limit=$6
[ -d "$gcov" ] || { echo "no gcov data in debugfs ($gcov)" >&2; exit 3; }
collect() {
	mkdir -p "$out/$1"
	(cd "$gcov" && find . -name '*.gcda') | while read -r f; do
		mkdir -p "$out/$1/${f%/*}" && cat "$gcov/$f" >"$out/$1/$f" || exit 3
	done
}
echo 0 >/sys/kernel/debug/gcov/reset || exit 3
rc=0
# --fail-nth: the catalogue's own fault injection, as iommufd_fail_nth is
# part of the selftests' run.
"$bin" run --backend live --allow-destructive --fail-nth --profile "$profile" --format json \
	>"$out/catalogue.json" 2>"$out/catalogue.stderr" || rc=$?
echo "catalogue: exit $rc"
collect catalogue || exit 3
echo 0 >/sys/kernel/debug/gcov/reset || exit 3
# The selftests' hugepage fixtures need a reserve; kernels without
# HUGETLBFS have no such file and those fixtures fail.
[ -w /proc/sys/vm/nr_hugepages ] && echo 160 >/proc/sys/vm/nr_hugepages
echo "hugepages: $(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 'none (no HUGETLBFS)')"
for t in iommufd iommufd_fail_nth; do
	st=0
	timeout -k 5 "$limit" "$kst/$t" >"$out/$t.ktap" 2>&1 </dev/null || st=$?
	echo "$t: exit $st"
done
collect selftests || exit 3
exit 0
GUEST

# One kernel: boot, check what came back, report. $1: label, $2: bzImage
# (its folder holds gcno.tar and src/), $3: report folder, $4: optional
# reasons for the sites the catalogue does not reach (that kernel's lines).
cover() {
	local label=$1 kernel=$2 dir=$3 reasons=${4:-} kdir rc=0
	kdir=$(dirname "$kernel")
	[ -s "$kdir/gcno.tar" ] && [ -d "$kdir/src" ] \
		|| broke "$kdir has no gcov notes (gcno.tar, src/): was it built with coverage.diff and CONFIG_GCOV_KERNEL?"
	mkdir -p "$dir/vm"
	say "$label: booting $kernel"
	scripts/run-vm.sh --vfio-edu --mem 2G --timeout "$vm_timeout" --kernel "$kernel" --out "$dir/vm" -- \
		/bin/sh -c "$guest" sh "$root/$dir/vm" "$bin" tsm-v5 "$kst" "$build_dir" "$kst_timeout" || rc=$?
	[ "$rc" -eq 0 ] || broke "$label: the VM run failed (exit $rc); see $dir/vm/{stdout,stderr,console.log}"
	sed 's/^/  /' "$dir/vm/stdout" >&2
	local cat_rc
	cat_rc=$(sed -n 's/^catalogue: exit //p' "$dir/vm/stdout")
	case $cat_rc in 0|1) ;; *) broke "$label: the catalogue did not run (exit ${cat_rc:-?}); see $dir/vm/catalogue.stderr" ;; esac
	/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print("  catalogue:", ", ".join(f"{k} {v}" for k, v in s.items() if not isinstance(v, (dict, list))))' \
		"$dir/vm/catalogue.json" >&2 || broke "$label: no catalogue report in $dir/vm/catalogue.json"
	for t in iommufd iommufd_fail_nth; do
		echo "  $t: $(grep -m1 '^# Totals:' "$dir/vm/$t.ktap" || echo 'no totals (see the KTAP)')" >&2
	done
	/usr/bin/python3 scripts/coverage-report.py --kernel "$label" --gcno "$kdir/gcno.tar" --src "$kdir/src" \
		--run "catalogue=$dir/vm/catalogue" --run "selftests=$dir/vm/selftests" --out "$dir" \
		${reasons:+--reasons "$reasons"} \
		|| broke "$label: the report failed"
}

# Build everything first (the kernels serialize on the cache lock).
kst=$(scripts/build-kselftest.sh) || exit $?
base=$(scripts/build-kernel.sh --print-path) || broke "no lane kernel after the selftest build"
cache_kernel=$(dirname "$(dirname "$base")")
build_dir="$cache_kernel/tree-$(basename "$(dirname "$base")")/build"
kernel=$(scripts/build-kernel.sh --diff fixtures/kernel/coverage.diff) || exit $?
if [ -n "$series" ]; then
	# prereq + series + coverage.diff as one diff, made from the pristine tree
	# under the cache lock, then built incrementally like any patched kernel.
	tsm_kernel=$(scripts/build-kernel.sh --patched out/coverage/tsm.diff -- "$bin" apply \
		--patch fixtures/kernel/tsm-v5-prereq.patch --patch "$series" --patch fixtures/kernel/coverage.diff) || exit $?
fi
say "kernels and selftests ready after $(( $(date +%s) - t0 ))s"

cover "Linux 7.2" "$kernel" out/coverage fixtures/coverage/unreached-7.2.tsv
if [ -n "$series" ]; then
	cover "Linux 7.2 + $(basename "$series")" "$tsm_kernel" out/coverage/tsm
	grep -q '"file": "drivers/iommu/iommufd/tsm.c"' out/coverage/tsm/coverage.json \
		|| broke "tsm.c is not in the TSM kernel's report: did the series build into iommufd?"
fi
say "done in $(( $(date +%s) - t0 ))s: out/coverage/index.html${series:+, out/coverage/tsm/index.html}"
