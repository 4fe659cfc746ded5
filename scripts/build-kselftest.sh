#!/usr/bin/env bash
# Build the kernel's own iommufd selftests (tools/testing/selftests/iommu:
# iommufd, iommufd_fail_nth) from the lane's pinned 7.2 tree, against headers
# installed from that same tree, with every output outside the tree. The
# result is cached outside the repo, keyed by the sources it was built from:
#   ${UAPI_CONFORM_CACHE:-~/.cache/uapi-conform}/kselftest/<key>/
#     iommufd, iommufd_fail_nth, headers/include, info
#   scripts/build-kselftest.sh           build if needed; print the folder
# Progress goes to stderr; stdout is only the folder. Bad input or a missing
# prerequisite: exit 2 with a one-line message.
set -euo pipefail

# Part of the cache key: change it when the build steps below change.
RECIPE="headers_install O=own; selftests/iommu OUTPUT=own KHDR_INCLUDES=own"

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${UAPI_CONFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uapi-conform}
die() { echo "build-kselftest: error: $*" >&2; exit 2; }
say() { echo "build-kselftest: $*" >&2; }
case "${1:-}" in
	"") ;;
	-h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unexpected argument '$1' (usage: $0)" ;;
esac
for tool in make gcc sha256sum flock rsync; do
	command -v "$tool" >/dev/null || die "$tool not found; run scripts/install-deps.sh --live"
done
# The selftests link -lcap.
[ -e /usr/include/sys/capability.h ] || die "libcap-dev missing; run scripts/install-deps.sh --live"

# The lane's tree exists once its kernel is built (a no-op when cached).
kernel=$("$root/scripts/build-kernel.sh") || die "scripts/build-kernel.sh failed; the selftests need its source tree"
# Shared lock: kernel builds (exclusive) edit and replace trees; we only
# read one. Read-only open, so the lock file itself is never written.
exec 9<"$cache/kernel/.lock"
flock -s 9
# Any kept tree of the pinned source has the same selftests: the lane's if it
# is still there (a cached kernel does not keep its tree), else another.
tree="$cache/kernel/tree-$(basename "$(dirname "$kernel")")"
[ -d "$tree" ] || tree=$(ls -dt "$cache"/kernel/tree-* 2>/dev/null | head -n 1)
src=$(ls -d "$tree"/linux-source-* 2>/dev/null | head -n 1)
[ -n "$src" ] && [ -d "$src/tools/testing/selftests/iommu" ] \
	|| die "no kernel source tree with selftests in $cache/kernel; run scripts/build-kernel.sh --diff fixtures/kernel/coverage.diff"
[ ! -d "$tree/pristine" ] || die "$tree still has a killed patched build's diff applied; run scripts/build-kernel.sh --diff fixtures/kernel/coverage.diff to restore it"

# The key covers what the binaries are built from, not the kernel config.
sel=tools/testing/selftests
key=$( { echo "$RECIPE"; gcc -dumpfullversion; dpkg-query -W -f '${Version}\n' libc6-dev libcap-dev 2>/dev/null
	(cd "$src" && sha256sum $sel/iommu/* $sel/lib.mk $sel/kselftest_harness.h $sel/kselftest.h \
		drivers/iommu/iommufd/iommufd_test.h include/uapi/linux/*.h); } | sha256sum | cut -c1-64)
final="$cache/kselftest/$key"
if [ -x "$final/iommufd" ] && [ -x "$final/iommufd_fail_nth" ]; then echo "$final"; exit 0; fi

t0=$(date +%s)
mkdir -p "$cache/kselftest"
work=$(mktemp -d "$cache/kselftest/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$work/build.log"
fail() { tail -n 20 "$log" >&2; die "$1 (log above)"; }

# Headers from the same tree, built in our own O= so the lane's build dir
# and the source tree stay untouched.
make -C "$src" ARCH=x86_64 O="$work/hdr-obj" INSTALL_HDR_PATH="$work/out/headers" -s headers_install \
	>"$log" 2>&1 || fail "headers_install failed"
rm -rf "$work/hdr-obj"
# MFD_HUGETLB comes from glibc's <sys/mman.h> here: lib.mk defines
# _GNU_SOURCE, and bookworm's glibc 2.36 has it under that.
make -C "$src/$sel/iommu" OUTPUT="$work/out" KHDR_INCLUDES="-isystem $work/out/headers/include" \
	-j"$(( $(nproc) + 1 ))" >>"$log" 2>&1 || fail "the selftests do not build"
for t in iommufd iommufd_fail_nth; do [ -x "$work/out/$t" ] || fail "the build made no $t"; done
{
	echo "source: $src"
	echo "recipe: $RECIPE"
	echo "gcc: $(gcc -dumpfullversion)"
	echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(( $(date +%s) - t0 ))s"
} >"$work/out/info"
rm -rf "$final" && mv "$work/out" "$final"
say "built in $(( $(date +%s) - t0 ))s: $final"
echo "$final"
