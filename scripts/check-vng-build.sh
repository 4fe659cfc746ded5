#!/usr/bin/env bash
# A kernel built the way maintainers build theirs, `vng --build` (virtme-ng's
# defconfig plus its guest options plus our fragment), booted by the lane:
# `uapi-conform vm --kernel` on it, the catalogue sim+live as `make live` runs
# it. Not in CI: vng's defconfig is a whole x86_64 defconfig kernel, a second
# cold build far bigger than the lane's tinyconfig one.
#   scripts/check-vng-build.sh [--out DIR]     (default out/vng-build)
# The source is the lane's pinned linux-source-7.2 (scripts/build-kernel.sh
# fetches it), unpacked into ${UAPI_CONFORM_CACHE}/kernel/vng-build/, where vng
# builds in the tree (it has no O=); a rerun is incremental. Needs virtme-ng
# (scripts/vng-venv.sh) and QEMU. Env: UAPI_CONFORM_VNG_BUILD_TIMEOUT (s, 5400).
# Exit: vm's status (0: the catalogue passed on that kernel); 2 bad input or a
# failed build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "check-vng-build: error: $*" >&2; exit 2; }
out="$root/out/vng-build"
while [ $# -gt 0 ]; do
	case $1 in
		--out) out=${2:?--out needs a directory}; shift 2 ;;
		*) die "unexpected argument '$1' (usage: $0 [--out DIR])" ;;
	esac
done
bin="$root/.build/debug/uapi-conform"
[ -x "$bin" ] || die "$bin is not built (swift build)"
cache=${UAPI_CONFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uapi-conform}
# The lane's pinned source, fetched once per machine (build-kernel.sh keeps it).
tarball=$("$root/scripts/build-kernel.sh" --source-tarball) || die "cannot fetch the lane's linux-source-7.2"
vng=$("$root/scripts/vng-venv.sh")
work="$cache/kernel/vng-build"
src="$work/linux-source-7.2"
# Unpacked once per tarball (the path names the pinned version).
if [ "$(cat "$work/.unpacked" 2>/dev/null)" != "$tarball" ]; then
	rm -rf "$work" && mkdir -p "$work"
	tar -C "$work" -xf "$tarball"
	echo "$tarball" >"$work/.unpacked"
fi
mkdir -p "$out" && out=$(cd "$out" && pwd)
t0=$(date +%s)
echo "check-vng-build: vng --build in $src (log: $out/build.log)" >&2
# vng finds virtme-configkernel on PATH; the fragment goes after its defconfig.
(cd "$src" && PATH="$(dirname "$vng"):$PATH" timeout -k 10 "${UAPI_CONFORM_VNG_BUILD_TIMEOUT:-5400}" \
	nice -n 10 "$vng" --build --force --skip-modules --config "$root/fixtures/kernel/uapi-conform.config" </dev/null) \
	>"$out/build.log" 2>&1 || { tail -n 20 "$out/build.log" >&2; die "vng --build failed (log: $out/build.log)"; }
kernel="$src/arch/x86/boot/bzImage"
[ -f "$kernel" ] || die "vng --build made no $kernel"
echo "check-vng-build: built in $(( $(date +%s) - t0 )) s: $kernel" >&2
rc=0
"$bin" vm --kernel "$kernel" --timeout 600 --out "$out/vm" >/dev/null || rc=$?
echo "check-vng-build: vm --kernel on the vng-built kernel: exit $rc; $(tail -n 1 "$out/vm/stdout" 2>/dev/null)"
exit "$rc"
