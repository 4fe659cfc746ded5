#!/usr/bin/env bash
# Install what building and testing needs on a Debian machine (idempotent):
# cmocka for the shim's tests, make/gcc/libc headers, the cross gcc of the
# three ABIs clang lacks, the archive keyring and CA bundle the Debian package
# downloads use, the report-schema validators (kcidb-io in .deps/kcidb-venv). Swift comes from /opt/swift when it
# is not on PATH already. Needs root (or sudo) only when something is missing.
#   scripts/install-deps.sh          what `make` and `make check` need
#   scripts/install-deps.sh --live   also the kernel build tools, busybox and
#                                    QEMU that `make live` (the VM lane) needs
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
live=0
case "${1:-}" in
	"") ;;
	--live) live=1 ;;
	*) echo "usage: $0 [--live]" >&2; exit 2 ;;
esac
# xmllint and python3-jsonschema validate every report format in the tests.
needed=(libcmocka-dev make gcc libc6-dev ca-certificates debian-archive-keyring libxml2-utils python3 python3-jsonschema
	python3-venv)
# The ABIs clang has no target for (alpha, parisc, sh4) are probed with Debian's cross gcc.
needed+=(gcc-alpha-linux-gnu gcc-hppa-linux-gnu gcc-sh4-linux-gnu)
# The live lane builds a 7.2 kernel (bookworm's gcc 12 / binutils 2.40 do
# fine) and boots it under QEMU with a busybox initramfs; the kernel's iommufd
# selftests (make coverage) link libcap and their headers_install needs rsync.
[ "$live" -eq 0 ] || needed+=(build-essential bc bison flex libelf-dev libssl-dev
	cpio kmod busybox-static qemu-system-x86 xz-utils libcap-dev rsync)
missing=()
for p in "${needed[@]}"; do
	dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing: ${missing[*]}"
	$sudo apt-get update
	$sudo apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
fi
# KernelCI's kcidb-io (PyPI) validates --format kcidb in the tests, from a
# private venv (.deps/kcidb-venv); reused when it is there already.
"$(dirname "$0")/kcidb-venv.sh" >/dev/null
if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
	echo "error: no Swift 6 toolchain on PATH or at /opt/swift/usr/bin" >&2
	exit 1
fi
