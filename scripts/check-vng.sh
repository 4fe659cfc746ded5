#!/usr/bin/env bash
# The suite inside a virtme-ng session, the way kernel maintainers boot their
# kernels: `vng --run BZIMAGE --disable-kvm` (TCG: the KVM of these machines is
# too slow, see run-vm.sh) on the lane kernel, the host's root read-only, and
# `uapi-conform run --backend live` in it. vng gives the guest no vIOMMU and no
# PCI device for vfio, so the mock's cases run and the vfio cases skip with
# their reason. Passes when the run has 0 failures.
# What the guest writes goes to DIR (vng --rwdir), by the guest's own
# redirections: without a udevd on the host, vng's init finds no named
# virtio-serial ports and runs the command on the console (its output is
# console.log there, and vng's own exit status says nothing); without
# OVERLAY_FS in the kernel vng's writable overlays (/etc, /tmp, ...) are not
# made, which the run does not need.
#   scripts/check-vng.sh [--kernel BZIMAGE] [--profile P] [--out DIR]
#       default kernel: scripts/build-kernel.sh --print-path (the lane's);
#       profile: linux-7.2; DIR (default out/vng): stdout (KTAP), stderr,
#       results.json, status (the run's exit status), console.log
# Needs virtme-ng (scripts/vng-venv.sh installs it, pinned) and QEMU.
# Bad input: exit 2; a hung guest: 124 (timeout, UAPI_CONFORM_VNG_TIMEOUT s, 900).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "check-vng: error: $*" >&2; exit 2; }
kernel="" profile=linux-7.2 out="$root/out/vng"
while [ $# -gt 0 ]; do
	case $1 in
		--kernel) kernel=${2:?--kernel needs a bzImage}; shift 2 ;;
		--profile) profile=${2:?--profile needs a name}; shift 2 ;;
		--out) out=${2:?--out needs a directory}; shift 2 ;;
		*) die "unexpected argument '$1' (usage: $0 [--kernel BZIMAGE] [--profile P] [--out DIR])" ;;
	esac
done
[ -n "$kernel" ] || kernel=$("$root/scripts/build-kernel.sh" --print-path) \
	|| die "no lane kernel built yet (make kernel)"
[ -f "$kernel" ] || die "kernel image '$kernel' not found"
bin="$root/.build/debug/uapi-conform"
[ -x "$bin" ] || die "$bin is not built (swift build)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found; run scripts/install-deps.sh --live"
vng=$("$root/scripts/vng-venv.sh")
mkdir -p "$out" && out=$(cd "$out" && pwd)
rm -f "$out/results.json" "$out/status" "$out/stdout" "$out/stderr"
# vng finds its helpers (virtme-run) on PATH; the guest writes only to $out.
cmd="'$bin' run --backend live --profile '$profile' --format ktap --json '$out/results.json'"
cmd+=" >'$out/stdout' 2>'$out/stderr'; echo \$? >'$out/status'"
t0=$(date +%s)
rc=0
limit=${UAPI_CONFORM_VNG_TIMEOUT:-900}
PATH="$(dirname "$vng"):$PATH" timeout "$limit" "$vng" --run "$kernel" --disable-kvm --memory 1G --verbose \
	--rwdir "$out" -- "$cmd" </dev/null >"$out/console.log" 2>&1 || rc=$?
[ "$rc" -ne 124 ] || { echo "check-vng: the guest hung (killed after $limit s)" >&2; exit 124; }
status=$(cat "$out/status" 2>/dev/null || echo none)
totals=$(grep '^# Totals:' "$out/stdout" | tail -n1 || true)
echo "check-vng: vng session on $kernel, $(( $(date +%s) - t0 )) s: run exited $status;" \
	"${totals:-no KTAP totals} (KTAP in $out/stdout)"
[ "$status" = 0 ] || { tail -n 20 "$out/stderr" "$out/console.log" >&2 2>/dev/null; exit 1; }
