#!/usr/bin/env bash
# Build the Linux 7.2 kernel the live VM lane boots: Debian sid's
# linux-source-7.2 (pinned), tinyconfig + kvm_guest.config + our fragment,
# everything built in. The result is cached outside the repo, keyed by the
# source version and the fragment text, so any clone on this machine reuses it.
#   scripts/build-kernel.sh [OUT]       build if needed; print the bzImage path
#                                       (and copy it to OUT, a file or a dir)
#   scripts/build-kernel.sh --print-path   print the cached bzImage path only;
#                                       exit 1 if it is not built yet
# Env: UAPI_CONFORM_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/uapi-conform),
#      KEEP_KERNEL_TREE=1 keeps the unpacked source and build dir afterwards.
# Progress goes to stderr; stdout is only the bzImage path.
set -euo pipefail

SRC_PKG=linux-source-7.2
SRC_VER=7.2.13-1        # sid moves: bump deliberately, never float
# Part of the cache key: change it when the configure steps below change.
RECIPE="x86_64 tinyconfig + kvm_guest.config + fragment via scripts/config/olddefconfig x3"

root=$(cd "$(dirname "$0")/.." && pwd)
fragment="$root/fixtures/kernel/uapi-conform.config"
cache=${UAPI_CONFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uapi-conform}
die() { echo "build-kernel: error: $*" >&2; exit 2; }
say() { echo "build-kernel: $*" >&2; }

print_only=0 out=""
case "${1:-}" in
	--print-path) print_only=1 ;;
	-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1 (usage: $0 [--print-path | OUT])" ;;
	*) out=${1:-} ;;
esac
[ -r "$fragment" ] || die "missing config fragment $fragment"

# The key covers the fragment's settings, not its comments: rewording a
# comment must not cost a 9-minute rebuild.
key=$( { printf '%s=%s\n%s\n' "$SRC_PKG" "$SRC_VER" "$RECIPE"
	grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "$fragment"; } | sha256sum | cut -c1-64)
final="$cache/kernel/$key"

deliver() {
	if [ -n "$out" ]; then
		if [ -d "$out" ]; then cp "$final/bzImage" "$out/bzImage"; else cp "$final/bzImage" "$out"; fi
	fi
	echo "$final/bzImage"
}

if [ -f "$final/bzImage" ]; then deliver; exit 0; fi
if [ "$print_only" -eq 1 ]; then
	say "no kernel built for this fragment yet (expected $final/bzImage); run scripts/build-kernel.sh"
	exit 1
fi

for tool in make gcc bc bison flex xz tar dpkg-deb apt-get sha256sum flock; do
	command -v "$tool" >/dev/null || die "$tool not found; run scripts/install-deps.sh --live"
done
[ -e /usr/include/libelf.h ] || die "libelf-dev missing; run scripts/install-deps.sh --live"
[ -e /usr/include/openssl/ssl.h ] || die "libssl-dev missing; run scripts/install-deps.sh --live"

mkdir -p "$cache/kernel"
# One build at a time per cache: two clones building at once would share
# the work dir. The loser waits, then finds the cached result.
exec 9>"$cache/kernel/.lock"
flock 9
if [ -f "$final/bzImage" ]; then deliver; exit 0; fi

t0=$(date +%s)
secs() { echo "$(( $(date +%s) - $1 ))s"; }

# 1. Source: the .deb holds one tarball. Keep the extracted tarball (~150 MB)
#    per version so a fragment change does not download again.
srcpkg="$cache/kernel/source-$SRC_PKG-$SRC_VER"
tarball=usr/src/$SRC_PKG.tar.xz
if [ ! -f "$srcpkg/$tarball" ]; then
	say "downloading $SRC_PKG=$SRC_VER from Debian sid"
	"$root/scripts/fetch-debian-sid.sh" "$SRC_PKG=$SRC_VER" "$srcpkg" "$tarball" >&2 \
		|| die "cannot fetch $SRC_PKG=$SRC_VER from Debian sid: the mirror no longer carries that version (sid moves) or is unreachable; bump SRC_VER in scripts/build-kernel.sh to what https://packages.debian.org/sid/$SRC_PKG lists"
	say "download: $(secs "$t0")"
fi

# 2. Unpack into a work dir next to the cache entry (1.8 GB tree).
work="$cache/kernel/work-$key"
rm -rf "$work" && mkdir -p "$work/build"
t=$(date +%s)
tar -C "$work" -xf "$srcpkg/$tarball"
src="$work/$SRC_PKG"
[ -f "$src/Makefile" ] || die "tarball did not unpack to $src"
say "unpack: $(secs "$t")"

# 3. Configure. Without ARCH=x86_64 tinyconfig is 32-bit. scripts/config
#    sets symbols one by one; olddefconfig then resolves dependencies, which
#    may newly allow a symbol that was refused the first time, so repeat.
t=$(date +%s)
mk=(make -C "$src" ARCH=x86_64 O="$work/build")
"${mk[@]}" -s tinyconfig >&2
"${mk[@]}" -s kvm_guest.config >&2
args=()
while IFS= read -r line; do
	case $line in
		CONFIG_*=y) n=${line%%=*}; args+=(--enable "${n#CONFIG_}") ;;
		CONFIG_*=n|'# CONFIG_'*' is not set')
			n=${line#\# }; n=${n%% *}; n=${n%%=*}; args+=(--disable "${n#CONFIG_}") ;;
		CONFIG_*=*) n=${line%%=*}; args+=(--set-val "${n#CONFIG_}" "${line#*=}") ;;
	esac
done < "$fragment"
for _ in 1 2 3; do
	"$src/scripts/config" --file "$work/build/.config" "${args[@]}"
	"${mk[@]}" -s olddefconfig >&2
done
missing=()
while IFS= read -r line; do
	grep -qx "$line" "$work/build/.config" || missing+=("${line%%=*}")
done < <(grep -E '^CONFIG_[A-Za-z0-9_]+=y$' "$fragment")
if [ "${#missing[@]}" -gt 0 ]; then
	die "config symbols did not survive olddefconfig (unmet dependencies?): ${missing[*]}; see $work/build/.config"
fi
say "config: $(secs "$t") ($(grep -c '=y$' "$work/build/.config") symbols =y)"

# 4. Build bzImage only: no modules (the fragment builds everything in).
t=$(date +%s)
jobs=$(( $(nproc) + 1 ))
log="$work/build.log"
say "building bzImage with -j$jobs (log: $log)"
if ! "${mk[@]}" -j"$jobs" bzImage >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	die "kernel build failed; full log in $log"
fi
say "build: $(secs "$t")"

# 5. Publish atomically, then drop the 1.8 GB tree (and the build dir,
#    useless without it) unless asked to keep them.
rm -rf "$final.tmp" && mkdir -p "$final.tmp"
cp "$work/build/arch/x86/boot/bzImage" "$final.tmp/bzImage"
cp "$work/build/.config" "$final.tmp/.config"
cp "$fragment" "$final.tmp/fragment.config"
{
	echo "source: $SRC_PKG=$SRC_VER"
	echo "recipe: $RECIPE"
	echo "kernelrelease: $("${mk[@]}" -s kernelrelease)"
	echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(secs "$t0")"
} > "$final.tmp/info"
mv "$final.tmp" "$final"
if [ "${KEEP_KERNEL_TREE:-0}" = 1 ]; then
	say "kept source and build dir in $work"
else
	rm -rf "$work"
fi
say "done in $(secs "$t0"): $final/bzImage ($(du -h "$final/bzImage" | cut -f1))"
deliver
