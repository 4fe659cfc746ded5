#!/usr/bin/env bash
# Run one command on this machine's own files, but under a freshly booted
# kernel: QEMU (q35 + intel-iommu with interrupt remapping + the `edu` PCI
# device) boots BZIMAGE with a tiny busybox initramfs, which mounts the host's
# / read-only over virtio-9p and chroots into it with the guest's /dev, /proc
# and /sys. So host binaries (Swift toolchain included) run against the guest
# kernel's /dev/iommu and /dev/vfio.
#   scripts/run-vm.sh --kernel BZIMAGE --out DIR [options] -- COMMAND [ARG...]
# Options:
#   --timeout SECS   kill QEMU after SECS (default 300); exit status 124
#   --cwd DIR        working directory of COMMAND (default: the repo root)
#   --vfio-edu       bind the edu device (1234:11e8) to vfio-pci before COMMAND
#   --append ARGS    extra kernel command-line arguments
#   --mem SIZE       guest memory (default 1G)
#   --verbose        echo the serial console while the guest runs
# Results: DIR/stdout, DIR/stderr, DIR/status (COMMAND's exit status) and
# DIR/console.log (serial console). DIR appears at the same absolute path
# inside the guest, writable. The script exits with COMMAND's status.
# Env: UAPI_CONFORM_VM_ACCEL=kvm uses KVM instead of TCG (TCG by default:
#      the paravirtual KVM of these machines is too slow to boot a guest);
#      UAPI_CONFORM_CACHE as in build-kernel.sh (initramfs cache);
#      UAPI_CONFORM_* variables are passed on to COMMAND.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${UAPI_CONFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uapi-conform}
die() { echo "run-vm: error: $*" >&2; exit 125; }
say() { echo "run-vm: $*" >&2; }
usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }

kernel="" out="" timeout_s=300 cwd="$root" vfio_edu=0 append="" mem=1G verbose=0
while [ $# -gt 0 ]; do
	case $1 in
		--kernel) kernel=${2:?--kernel needs a path}; shift 2 ;;
		--out) out=${2:?--out needs a directory}; shift 2 ;;
		--timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
		--cwd) cwd=${2:?--cwd needs a directory}; shift 2 ;;
		--vfio-edu) vfio_edu=1; shift ;;
		--append) append=${2?--append needs arguments}; shift 2 ;;
		--mem) mem=${2:?--mem needs a size}; shift 2 ;;
		--verbose) verbose=1; shift ;;
		-h|--help) usage; exit 0 ;;
		--) shift; break ;;
		*) die "unexpected argument '$1' (usage: $0 --kernel BZIMAGE --out DIR -- COMMAND...)" ;;
	esac
done
[ $# -gt 0 ] || die "no COMMAND given (usage: $0 --kernel BZIMAGE --out DIR -- COMMAND...)"
[ -n "$kernel" ] || die "--kernel BZIMAGE is required (scripts/build-kernel.sh prints one)"
[ -f "$kernel" ] || die "kernel image '$kernel' not found"
[ -n "$out" ] || die "--out DIR is required"
case $timeout_s in ''|*[!0-9]*) die "--timeout wants whole seconds, got '$timeout_s'" ;; esac
[ -d "$cwd" ] || die "--cwd '$cwd' is not a directory"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found; run scripts/install-deps.sh --live"
for tool in cpio gzip timeout; do command -v $tool >/dev/null || die "$tool not found; run scripts/install-deps.sh --live"; done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found; run scripts/install-deps.sh --live (busybox-static)"
# A dynamic busybox would have no libc in the initramfs.
! ldd "$busybox" >/dev/null 2>&1 || die "$busybox is dynamically linked; install busybox-static"

mkdir -p "$out"
out=$(cd "$out" && pwd)
cwd=$(cd "$cwd" && pwd)
kernel=$(cd "$(dirname "$kernel")" && pwd)/$(basename "$kernel")
rm -rf "$out/stdout" "$out/stderr" "$out/status" "$out/console.log" "$out/.vm"
mkdir -p "$out/.vm"

# --- The guest's /init. It is the same for every run (so the initramfs is
# cached); per-run settings come from DIR/.vm/ over the `out` 9p share.
read -r -d '' init_script <<'INIT' || true
#!/bin/busybox sh
# uapi-conform VM init: mount, chroot into the host's /, run, report, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
# The initramfs has no /dev/console node: take the console once devtmpfs is up.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
marker() { echo "UAPI-CONFORM-VM: $*"; }
finish() { marker "status=$1"; sync; poweroff -f; sleep 5; }
# Swift's Foundation needs loopback: CoreFoundation's run loop wakes itself
# through two UDP sockets bound to 127.0.0.1 and hangs without them.
ip link set lo up || marker "warning: cannot bring lo up"
read -r up _ </proc/uptime
mkdir -p /host /out
# msize: 9p's default is tiny; large reads make exec of big binaries faster.
p9=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$p9" out /out || { marker "error: cannot mount the out share"; finish 125; }
. /out/.vm/env
echo "$up" >/out/.vm/uptime-init
# cache=loose: the host root is read-only for the run, so page-caching it is
# safe and makes loading the Swift runtime much faster.
mount -t 9p -o "$p9,ro,cache=loose" hostroot /host || { marker "error: cannot mount hostroot"; finish 125; }
mount -t devtmpfs devtmpfs /host/dev
mkdir -p /host/dev/shm && mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
# debugfs: kmemleak, fault injection and gcov live there.
mount -t debugfs debugfs /host/sys/kernel/debug 2>/dev/null || true
# The guest gets its own /tmp, but a checkout under the host's /tmp (CI
# clones can live there) must stay visible: keep the old /tmp at /hosttmp
# and bind the working directory back to its own path.
mkdir -p /hosttmp && mount -o bind /host/tmp /hosttmp
mount -t tmpfs -o mode=1777 tmpfs /host/tmp
case "$VM_CWD" in
/tmp/*)
	mkdir -p "/host$VM_CWD"
	mount -o bind "/hosttmp${VM_CWD#/tmp}" "/host$VM_CWD" || { marker "error: cannot bind $VM_CWD"; finish 125; }
	;;
esac
mount -t tmpfs tmpfs /host/run
# DIR at its own path inside the chroot (it may sit under the fresh /tmp).
mkdir -p "/host$VM_OUT" 2>/dev/null
mount -o bind /out "/host$VM_OUT" || { marker "error: cannot bind $VM_OUT"; finish 125; }
if [ "$VM_VFIO_EDU" = 1 ]; then
	bound=0
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat $d/vendor):$(cat $d/device)" = "0x1234:0x11e8" ] || continue
		echo vfio-pci >$d/driver_override
		echo "${d##*/}" >/sys/bus/pci/drivers_probe
		[ -e $d/driver ] && [ "$(basename $(readlink $d/driver))" = vfio-pci ] && bound=1
		marker "edu ${d##*/} -> $(basename $(readlink $d/driver 2>/dev/null) 2>/dev/null)"
	done
	[ $bound = 1 ] || marker "warning: could not bind the edu device to vfio-pci"
fi
read -r up _ </proc/uptime
echo "$up" >/out/.vm/uptime-start
marker "running"
chroot /host /bin/sh -c "$(cat /out/.vm/cmd)" >/out/stdout 2>/out/stderr </dev/null
status=$?
read -r up _ </proc/uptime
echo "$up" >/out/.vm/uptime-end
echo $status >/out/status
finish $status
INIT

key=$( { printf '%s\n' "$init_script"; sha256sum <"$busybox"; } | sha256sum | cut -c1-16)
initrd="$cache/initramfs/$key.cpio.gz"
if [ ! -f "$initrd" ]; then
	t=$(date +%s%N)
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$cache/initramfs"
	cp "$busybox" "$stage/bin/busybox"
	printf '%s\n' "$init_script" >"$stage/init"
	chmod 755 "$stage/init"
	(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -9) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	rm -rf "$stage"; trap - EXIT
	say "built initramfs $initrd ($(du -h "$initrd" | cut -f1), $(( ($(date +%s%N) - t) / 1000000 )) ms)"
fi

# --- Per-run settings and the command, as a POSIX sh script for the chroot's
# /bin/sh. Single quotes keep every argument byte-exact.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
	printf 'VM_OUT=%s\n' "$(q "$out")"
	printf 'VM_CWD=%s\n' "$(q "$cwd")"
	printf 'VM_VFIO_EDU=%s\n' "$vfio_edu"
} >"$out/.vm/env"
{
	printf 'export PATH=%s HOME=/tmp TMPDIR=/tmp LANG=C.UTF-8\n' "$(q "$PATH")"
	while IFS= read -r name; do
		printf 'export %s=%s\n' "$name" "$(q "${!name}")"
	done < <(compgen -e | grep '^UAPI_CONFORM_' || true)
	printf 'cd %s || exit 125\n' "$(q "$cwd")"
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(q "$a")"; done
	printf '\n'
} >"$out/.vm/cmd"

# --- Boot. TCG by default: the KVM these machines expose cannot boot a guest
# in reasonable time. kernel-irqchip=split is what intremap=on requires, and
# interrupt remapping is what lets vfio devices bind to iommufd.
accel=tcg
[ "${UAPI_CONFORM_VM_ACCEL:-tcg}" = kvm ] && accel=kvm
qemu=(qemu-system-x86_64 -accel "$accel" -machine q35,kernel-irqchip=split
	-device intel-iommu,intremap=on -m "$mem" -smp 2 -nographic -no-reboot
	-nic none -vga none
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 rdinit=/init panic=-1 quiet printk.devkmsg=on $append"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$out,mount_tag=out,security_model=none,multidevs=remap"
	-device edu)

start=$(date +%s%N)
# QEMU runs under timeout(1) in the background so that our own exit (any
# signal, any error) takes it down too: timeout forwards TERM to QEMU and
# follows with KILL after 5 s. --foreground keeps QEMU in our process group,
# so whoever kills that group (uapi-conform vm on SIGINT/SIGTERM) kills QEMU.
timeout --foreground -k 5 "$timeout_s" "${qemu[@]}" </dev/null >"$out/console.log" 2>&1 &
qpid=$!
trap 'kill -TERM $qpid 2>/dev/null; wait $qpid 2>/dev/null' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
[ "$verbose" = 1 ] && tail -n +1 -f --pid=$qpid "$out/console.log" >&2 &
rc=0
wait $qpid || rc=$?
trap - EXIT INT TERM
wall=$(( ($(date +%s%N) - start) / 1000000 ))
secs() { printf '%d.%03ds' $(( $1 / 1000 )) $(( $1 % 1000 )); }

guest=""
if [ -f "$out/.vm/uptime-start" ] && [ -f "$out/.vm/uptime-end" ]; then
	guest=$(awk -v b="$(cat "$out/.vm/uptime-start")" -v e="$(cat "$out/.vm/uptime-end")" \
		'BEGIN { printf " (guest: boot to command %.2fs, command %.2fs)", b, e - b }')
fi
if [ -f "$out/status" ]; then
	status=$(cat "$out/status")
	say "status $status after $(secs "$wall") wall$guest; output in $out/{stdout,stderr}"
	exit "$status"
fi
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	say "timed out after ${timeout_s}s: QEMU killed, no result (console: $out/console.log)"
	exit 124
fi
tail -n 20 "$out/console.log" >&2 || true
die "the VM stopped without a result (QEMU exit $rc after $(secs "$wall")); console: $out/console.log"
