#!/usr/bin/env bash
# The patch lane (make live-tsm): Linux 7.2 + fixtures/kernel/tsm-v5-prereq.patch
# (our reconstruction of the series' IOMMU_VDEVICE_TSM_OP base) + the posted
# series in TSM_SERIES, built incrementally, booted, probed and run live
# against the simulator; then every planted bug of fixtures/kernel/bugs.json
# must make the run fail with the cases it names.
#   TSM_SERIES=FILE scripts/live-tsm.sh
# Env: BIN (default .build/debug/uapi-conform), LIVE_TIMEOUT (600),
#      LIVE_TSM_BUGS=0 skips the planted bugs, LIVE_TSM_BUG=NAME runs one.
# Results: out/vm-tsm/{stdout (KTAP),summary.txt,...}, out/vm-tsm/bugs/NAME/.
# Exit: the clean run's status; 1 when a planted bug was not caught.
set -euo pipefail
cd "$(dirname "$0")/.."
series=${TSM_SERIES:-}
if [ -z "$series" ]; then
	echo "live-tsm: pass the posted TSM series: make live-tsm TSM_SERIES=FILE (e.g. the v5 5/5 TSM_REQ patch)" >&2
	exit 2
fi
[ -r "$series" ] || { echo "live-tsm: TSM_SERIES '$series' is not a readable file" >&2; exit 2; }
bin=${BIN:-.build/debug/uapi-conform}
patches=(--patch fixtures/kernel/tsm-v5-prereq.patch --patch "$series")
timeout=${LIVE_TIMEOUT:-600}

rc=0
"$bin" vm --timeout "$timeout" "${patches[@]}" --out out/vm-tsm >/dev/null || rc=$?
tail -n 1 out/vm-tsm/stdout 2>/dev/null || true
[ "$rc" -eq 0 ] || { echo "live-tsm: the run on the patched kernel failed (exit $rc); see out/vm-tsm/" >&2; exit "$rc"; }
[ "${LIVE_TSM_BUGS:-1}" = 1 ] || exit 0

if [ -n "${LIVE_TSM_BUG:-}" ]; then bugs=("$LIVE_TSM_BUG")
else mapfile -t bugs < <("$bin" vm --list-kernel-bugs | grep -v '^[[:space:]]' | cut -f1)
fi
missed=()
# vm creates each bug's out dir, but the shell opens its log before vm runs.
mkdir -p out/vm-tsm/bugs
for bug in "${bugs[@]}"; do
	t=$(date +%s)
	# Only the TSM cases (the bug is in the TSM code; they run in seconds), on the
	# series' own profile: a kernel that ignores __reserved probes as tsm-v2.
	"$bin" vm --timeout "$timeout" "${patches[@]}" --kernel-bug "$bug" --profile tsm-v5 --filter 'iommufd.vdevice_tsm_*' \
		--out "out/vm-tsm/bugs/$bug" >/dev/null 2>"out/vm-tsm/bugs/$bug.log" || true
	verdict=$(cat "out/vm-tsm/bugs/$bug/kernel-bug-verdict" 2>/dev/null || echo "no verdict")
	echo "live-tsm: kernel bug $bug: $verdict ($(( $(date +%s) - t ))s)"
	[ "$verdict" = caught ] || missed+=("$bug")
done
if [ "${#missed[@]}" -gt 0 ]; then
	echo "live-tsm: planted bugs NOT caught: ${missed[*]} (see out/vm-tsm/bugs/)" >&2
	exit 1
fi
echo "live-tsm: all ${#bugs[@]} planted kernel bugs caught"
