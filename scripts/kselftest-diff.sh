#!/usr/bin/env bash
# The kernel's own iommufd selftests (iommufd, iommufd_fail_nth from the
# lane's pinned 7.2 tree) on both kernels: on the host under
# `uapi-conform sim-exec` (the simulator as /dev/iommu) and in the lane's
# QEMU guest on the real 7.2 kernel; then one table of the tests whose
# verdicts differ, with the reason for each (scripts/kselftest-diff.py).
#   scripts/kselftest-diff.sh [--sim-only] [--live-ktap FILE] [--kselftest DIR]
#                             [--out DIR] [--all] [--groups] [--json FILE] [--host-hugepages N]
#   --sim-only        no VM: compare against OUT/live.ktap of an earlier run
#   --live-ktap FILE  no VM: compare against FILE
#   --kselftest DIR   the folder holding iommufd and iommufd_fail_nth (default:
#                     scripts/build-kselftest.sh builds or reuses them)
#   --out DIR         results (default out/kselftest): sim.ktap, live.ktap,
#                     diff.json, vm/ (the guest's console, stdout, stderr)
#   --all, --groups   passed to kselftest-diff.py (every row; unexplained
#                     differences grouped by first failing assertion)
#   --json FILE       the rows as JSON (default OUT/diff.json)
#   --time N          only the simulated half, N times; print the best wall time (make bench)
#   --host-hugepages N  raise the host's hugepage reserve to N for the sim run
#                     and put the old value back after it (default 160, what
#                     the guest gets; 0 leaves the host alone; needs root)
# Env: BIN (uapi-conform, default .build/debug/uapi-conform), KSELFTEST_DIR
#      (as --kselftest), SIM_PROFILE (linux-7.2), SIM_TIMEOUT (seconds per
#      binary on the host, 120), KSELFTEST_TIMEOUT (seconds per binary in the
#      guest, 300), VM_TIMEOUT (seconds for the whole boot, 600),
#      SIM_HUGEPAGES (as --host-hugepages), SWIFT_BACKTRACE (see run_sim).
# Exit 0 when every difference has a reason, 1 when some has none (or the
# VM run broke), 2 on bad input or a missing prerequisite (one line).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
die() { echo "kselftest-diff: error: $*" >&2; exit 2; }
broke() { echo "kselftest-diff: the VM run broke: $*" >&2; exit 1; }
say() { echo "kselftest-diff: $*" >&2; }
usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; }

time_runs=0 sim_only=0 live_ktap="" kst=${KSELFTEST_DIR:-} out=out/kselftest json="" py_args=()
hugepages=${SIM_HUGEPAGES:-160}
while [ $# -gt 0 ]; do
	case $1 in
		--sim-only) sim_only=1; shift ;;
		--live-ktap) live_ktap=${2:?--live-ktap needs a file}; sim_only=1; shift 2 ;;
		--kselftest) kst=${2:?--kselftest needs a folder}; shift 2 ;;
		--out) out=${2:?--out needs a folder}; shift 2 ;;
		--json) json=${2:?--json needs a file}; shift 2 ;;
		--host-hugepages) hugepages=${2:?--host-hugepages needs a count}; shift 2 ;;
		--time) time_runs=${2:?--time needs a count}; sim_only=1; live_ktap=/dev/null; shift 2 ;;
		--all|--groups) py_args+=("$1"); shift ;;
		-h|--help) usage; exit 0 ;;
		*) die "unexpected argument '$1' (see $0 --help)" ;;
	esac
done
bin=${BIN:-.build/debug/uapi-conform}
profile=${SIM_PROFILE:-linux-7.2}
sim_timeout=${SIM_TIMEOUT:-120} kst_timeout=${KSELFTEST_TIMEOUT:-300} vm_timeout=${VM_TIMEOUT:-600}
for n in "$sim_timeout" "$kst_timeout" "$vm_timeout"; do
	case $n in ''|*[!0-9]*|0) die "timeouts are whole seconds above 0, got '$n'" ;; esac
done
case $hugepages in ''|*[!0-9]*) die "--host-hugepages wants a count, got '$hugepages'" ;; esac
case $time_runs in ''|*[!0-9]*) die "--time wants a count, got '$time_runs'" ;; esac
[ -x "$bin" ] || die "$bin is not built (make build)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 not found"
[ -z "$live_ktap" ] || [ -r "$live_ktap" ] || die "--live-ktap '$live_ktap' is not a readable file"
[ "$sim_only" = 0 ] || [ -n "$live_ktap" ] || [ -r "$out/live.ktap" ] \
	|| die "--sim-only needs a saved $out/live.ktap (run once without --sim-only) or --live-ktap FILE"
mkdir -p "$out"
out=$(cd "$out" && pwd)
json=${json:-$out/diff.json}

# The hugepage tests mmap MAP_HUGETLB buffers on the host too (the simulator
# serves /dev/iommu, the host kernel the memory): without a reserve they fail
# on any host, which says nothing about the simulator.
raise_hugepages() {
	local f=/proc/sys/vm/nr_hugepages cur
	[ "$hugepages" -gt 0 ] || return 0
	cur=$(cat "$f" 2>/dev/null) || { say "no $f on this host: the hugepage tests will fail"; return 0; }
	[ "$cur" -lt "$hugepages" ] || return 0
	if [ -w "$f" ] && echo "$hugepages" >"$f" 2>/dev/null; then
		hp_old=$cur
		say "host hugepage reserve $cur -> $(cat "$f") for the sim run (put back after it)"
	else
		say "cannot raise the host's hugepage reserve ($cur, not root?): the hugepage tests will fail"
	fi
}
restore_hugepages() {
	[ -z "$hp_old" ] || echo "$hp_old" >/proc/sys/vm/nr_hugepages || say "could not put nr_hugepages back to $hp_old"
	hp_old=""
}

# Every run below goes through fg, in the background with `wait`, so a TERM
# or INT to this script reaches the trap at once (bash defers traps while a
# foreground child runs) and the trap stops that child, then removes $tmp.
tmp=$(mktemp -d "$out/.tmp.XXXXXX")
child="" stage="" hp_old=""
cleanup() {
	if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
	rm -rf "$tmp" ${stage:+"$stage"}
	restore_hugepages
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fg() { "$@" & child=$!; local rc=0; wait "$child" || rc=$?; child=""; return "$rc"; }

# The harness runs each test in its own process group, so a timeout that
# kills the binary would leave a hung test behind: a PID namespace (when
# this machine allows one) takes every process of the run down with it.
contain=()
if unshare --pid --fork --kill-child --mount-proc true 2>/dev/null; then
	contain=(unshare --pid --fork --kill-child --mount-proc)
else
	say "no PID namespace here; a hung test may outlive its binary's timeout"
fi

selftests() {
	if [ -z "$kst" ]; then kst=$(scripts/build-kselftest.sh) || exit $?; fi
	for t in iommufd iommufd_fail_nth; do [ -x "$kst/$t" ] || die "no executable $kst/$t"; done
	kst=$(cd "$kst" && pwd)
}

# Both binaries under sim-exec, one KTAP file; after each binary a marker
# line with its exit status, which tells the parser a test the binary died
# in (timeout: 124, or 137 after the KILL) from one it never reached.
# SWIFT_BACKTRACE=enable=no (unless set by the caller): the Swift runtime in
# the preload installs crash handlers in the test program, and they swallow
# the signal the harness's fixture wrapper forwards with kill(getpid(), sig),
# so a test that crashed or failed an assert() in its setup would say "ok".
run_sim() {
	local t st t0
	raise_hugepages
	t0=$(date +%s%N)
	for t in iommufd iommufd_fail_nth; do
		st=0
		fg env SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}" "${contain[@]}" timeout -k 5 "$sim_timeout" \
			"$bin" sim-exec --profile "$profile" -- "$kst/$t" >"$tmp/$t.ktap" 2>&1 </dev/null || st=$?
		echo "# kselftest-diff: $t exit $st" >>"$tmp/$t.ktap"
		say "sim: $t exit $st, $(totals "$tmp/$t.ktap" "$t")"
	done
	cat "$tmp/iommufd.ktap" "$tmp/iommufd_fail_nth.ktap" >"$tmp/sim.ktap"
	mv "$tmp/sim.ktap" "$out/sim.ktap"
	sim_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	say "sim: $sim_ms ms; $out/sim.ktap"
	restore_hugepages
}

# The last "# Totals:" line of a KTAP file, or a note that the binary left none.
totals() { grep '^# Totals:' "$1" | tail -n 1 | grep . || echo "no totals from $2"; }

# The guest half, run by scripts/run-vm.sh in the chroot of the host's /.
# Args: KSELFTEST_DIR OUT TIMEOUT. Prints what the tests depend on, so a
# changed guest shows in vm/stdout.
read -r -d '' guest <<'GUEST' || true
kst=$1 out=$2 limit=$3
# The hugepage fixtures mmap MAP_HUGETLB buffers (up to 128 MiB): the guest
# boots with no reserve, and 24 tests fail without one.
[ -w /proc/sys/vm/nr_hugepages ] && echo 160 >/proc/sys/vm/nr_hugepages
echo "kernel: $(uname -r)"
echo "hugepages: $(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 'none (no HUGETLBFS)')"
echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo 'none (no THP)')"
echo "failslab: $([ -d /sys/kernel/debug/failslab ] && echo yes || echo 'no (debugfs or FAILSLAB missing)')"
: >"$out/live.ktap"
for t in iommufd iommufd_fail_nth; do
	st=0
	timeout -k 5 "$limit" "$kst/$t" >>"$out/live.ktap" 2>&1 </dev/null || st=$?
	echo "# kselftest-diff: $t exit $st" >>"$out/live.ktap"
	echo "$t: exit $st"
done
GUEST

# One boot of the lane kernel (the one `make live` boots, no gcov), 2 GiB
# for the hugepage reserve. The binaries are staged in the VM's out folder:
# a selftest folder under the host's /tmp is not visible in the guest,
# which gets a fresh /tmp.
run_live() {
	local kernel vm=$out/vm rc=0 t0
	kernel=$(scripts/build-kernel.sh) || exit $?
	mkdir -p "$vm"
	stage=$vm/kst
	rm -rf "$stage" && mkdir "$stage" && cp "$kst/iommufd" "$kst/iommufd_fail_nth" "$stage/"
	t0=$(date +%s)
	say "booting $kernel"
	fg scripts/run-vm.sh --mem 2G --timeout "$vm_timeout" --kernel "$kernel" --out "$vm" -- \
		/bin/sh -c "$guest" sh "$stage" "$vm" "$kst_timeout" || rc=$?
	rm -rf "$stage"; stage=""
	[ "$rc" -eq 0 ] || broke "exit $rc; see $vm/{stdout,stderr,console.log}"
	[ -s "$vm/live.ktap" ] || broke "the guest wrote no $vm/live.ktap"
	sed 's/^/  /' "$vm/stdout" >&2
	mv "$vm/live.ktap" "$out/live.ktap"
	say "live: $(grep '^# Totals:' "$out/live.ktap" | tr '\n' ' ')"
	say "live: $(( $(date +%s) - t0 )) s boot to power-off; $out/live.ktap"
}

selftests
if [ "$time_runs" -gt 0 ]; then
	best=""
	for _ in $(seq "$time_runs"); do
		run_sim 2>/dev/null
		if [ -z "$best" ] || [ "$sim_ms" -lt "$best" ]; then best=$sim_ms; fi
	done
	echo "kernel selftests under sim-exec (iommufd + iommufd_fail_nth): best $best ms of $time_runs;" \
		"$(totals "$tmp/iommufd.ktap" iommufd)"
	exit 0
fi
run_sim
if [ "$sim_only" = 0 ]; then run_live; fi
rc=0
/usr/bin/python3 scripts/kselftest-diff.py "${live_ktap:-$out/live.ktap}" "$out/sim.ktap" \
	--json "$json" ${py_args[@]+"${py_args[@]}"} || rc=$?
exit "$rc"
