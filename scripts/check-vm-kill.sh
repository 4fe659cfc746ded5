#!/usr/bin/env bash
# Killing `uapi-conform vm` must take run-vm.sh and QEMU down with it: start
# a VM run, wait for QEMU, send the tool SIGTERM, and require that no QEMU
# of this run is left 10 s later.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-.build/debug/uapi-conform}
kernel=$(scripts/build-kernel.sh --print-path) || { echo "check-vm-kill: no kernel built (make kernel)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" vm --kernel "$kernel" --out "$out/vm" --timeout 300 -- run --backend live --profile tsm-v5 >/dev/null 2>&1 &
vm=$!
for _ in $(seq 1 100); do pgrep -f "qemu-system-x86_64.*$out/vm" >/dev/null && break; sleep 0.2; done
pgrep -f "qemu-system-x86_64.*$out/vm" >/dev/null || { echo "check-vm-kill: QEMU never started" >&2; kill "$vm"; exit 1; }
kill -TERM "$vm"
wait "$vm" 2>/dev/null || true
for _ in $(seq 1 50); do pgrep -f "qemu-system-x86_64.*$out/vm" >/dev/null || { echo "check-vm-kill: QEMU went with the tool"; exit 0; }; sleep 0.2; done
echo "check-vm-kill: QEMU outlived a SIGTERM to uapi-conform vm" >&2
pkill -KILL -f "qemu-system-x86_64.*$out/vm" || true
exit 1
