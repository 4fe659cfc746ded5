#!/usr/bin/env bash
# Build a kernel the live VM lane boots: Debian's linux-source-X.Y of a
# release in fixtures/kernel/releases.tsv (pinned there), tinyconfig +
# kvm_guest.config + our fragments, everything built in. Results are cached
# outside the repo, keyed by the source version and the fragment text, so any
# clone on this machine reuses them. The configured and built tree is kept
# there too, so a patched kernel costs only the rebuild of what its diff
# touches plus the link.
#   scripts/build-kernel.sh [--kernel X.Y] [--debug] [OUT]
#                                       build if needed; print the bzImage path
#                                       (--kernel: a release of releases.tsv,
#                                       6.12 or linux-6.12; default 7.2)
#                                       (--debug adds fixtures/kernel/debug.config:
#                                       KASAN, lockdep, kmemleak; its own tree)
#                                       (and copy it to OUT, a file or a dir)
#   scripts/build-kernel.sh [...] --print-path   print the cached bzImage path only;
#                                       exit 1 if it is not built yet
#   scripts/build-kernel.sh [...] --source-tarball   fetch the pinned source if
#                                       needed; print its .tar.xz path only
#   scripts/build-kernel.sh [...] --diff FILE    build with a clean diff (patch -p1)
#                                       applied; print that kernel's bzImage path
#   scripts/build-kernel.sh [...] --patched DIFF -- COMMAND [ARG...]
#                                       run COMMAND ARG... --source TREE --diff DIFF
#                                       on the pristine tree (it writes the diff;
#                                       `uapi-conform apply` does), then as --diff
# Fragments: fixtures/kernel/uapi-conform.config, then uapi-conform-X.Y.config
# when the release has one (what differs for it; a later line for a symbol
# replaces an earlier one), then debug.config with --debug.
# Env: UAPI_CONFORM_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/uapi-conform).
# Progress goes to stderr; stdout is only the bzImage path. Bad input: exit 2.
set -euo pipefail

# Part of the cache key: change it when the configure steps below change.
RECIPE="x86_64 tinyconfig + kvm_guest.config + fragment via scripts/config/olddefconfig x3"

root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "build-kernel: error: $*" >&2; exit 2; }
say() { echo "build-kernel: $*" >&2; }
release=linux-7.2 debug=0
while :; do
	case "${1:-}" in
		--kernel) [ -n "${2:-}" ] || die "--kernel needs a release (e.g. 6.12)"
			release=${2#linux-}; release=linux-$release; shift 2 ;;
		--debug) debug=1; shift ;;
		*) break ;;
	esac
done
releases="$root/fixtures/kernel/releases.tsv"
row=$(awk -F'\t' -v n="$release" '!/^#/ && $1 == n' "$releases")
known=$(awk -F'\t' '!/^#/ {printf "%s ", $1}' "$releases")
[ -n "$row" ] || die "--kernel ${release#linux-}: not a release of fixtures/kernel/releases.tsv (known: ${known% })"
IFS=$'\t' read -r _ SUITE SRC_VER _ _ <<<"$row"
series=${release#linux-}
SRC_PKG=linux-source-$series    # the version is pinned in releases.tsv: bump deliberately, never float
fragments=("$root/fixtures/kernel/uapi-conform.config")
[ ! -f "$root/fixtures/kernel/uapi-conform-$series.config" ] \
	|| fragments+=("$root/fixtures/kernel/uapi-conform-$series.config")
[ "$debug" = 0 ] || fragments+=("$root/fixtures/kernel/debug.config")
# What a tree is for: its source and fragment files. The newest tree of each
# role is kept (prune_trees).
role="$SRC_PKG=$SRC_VER $(for f in "${fragments[@]}"; do basename "$f"; done | tr '\n' ' ')"
role=${role% }
cache=${UAPI_CONFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uapi-conform}

mode=base out="" diff=""
case "${1:-}" in
	--print-path) mode=print ;;
	--source-tarball) mode=source ;;
	--diff) mode=diff; diff=${2:-}; [ -n "$diff" ] || die "--diff needs a file" ;;
	--patched) mode=patched; diff=${2:-}; [ "${3:-}" = "--" ] && [ $# -ge 4 ] || die "usage: $0 --patched DIFF -- COMMAND [ARG...]"
		shift 3 ;;
	-h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1 (usage: $0 [--kernel X.Y] [--debug]" \
		"[--print-path | --source-tarball | --diff FILE | --patched DIFF -- COMMAND | OUT])" ;;
	*) out=${1:-} ;;
esac
for f in "${fragments[@]}"; do [ -r "$f" ] || die "missing config fragment $f"; done
if [ "$mode" = diff ]; then [ -f "$diff" ] && [ -r "$diff" ] || die "diff '$diff' is not a readable file"; fi

# The fragments' settings, one line per symbol, the last fragment's winning.
settings() {
	grep -hE '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "${fragments[@]}" \
		| awk '{ n = $0; sub(/^# /, "", n); sub(/[= ].*/, "", n); if (!(n in v)) o[++k] = n; v[n] = $0 }
		       END { for (i = 1; i <= k; i++) print v[o[i]] }'
}

# The key covers the fragments' settings, not their comments: rewording a
# comment must not cost a 9-minute rebuild.
key=$( { printf '%s=%s\n%s\n' "$SRC_PKG" "$SRC_VER" "$RECIPE"
	grep -hE '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "${fragments[@]}"; } | sha256sum | cut -c1-64)
final="$cache/kernel/$key"
tree="$cache/kernel/tree-$key"     # src/ (the source), build/ (O=), state files
src="$tree/$SRC_PKG"

deliver() {  # $1: folder holding bzImage
	if [ -n "$out" ]; then
		if [ -d "$out" ]; then cp "$1/bzImage" "$out/bzImage"; else cp "$1/bzImage" "$out"; fi
	fi
	echo "$1/bzImage"
}

if [ "$mode" = base ] && [ -f "$final/bzImage" ]; then deliver "$final"; exit 0; fi
if [ "$mode" = print ]; then
	[ -f "$final/bzImage" ] && { deliver "$final"; exit 0; }
	say "no kernel built for this fragment yet (expected $final/bzImage); run scripts/build-kernel.sh"
	exit 1
fi
patched_key() { { echo "$key"; cat "$1"; } | sha256sum | cut -c1-64; }
# A kernel built from a diff that turns gcov on is usable once its notes are
# kept too (the `gcov:` line of info is written last).
usable() { [ -f "$1/bzImage" ] && { ! grep -q '^+GCOV_PROFILE' "$diff" || grep -q '^gcov: ' "$1/info"; }; }
if [ "$mode" = diff ] && usable "$cache/kernel/patched/$(patched_key "$diff")"; then
	deliver "$cache/kernel/patched/$(patched_key "$diff")"; exit 0
fi

for tool in make gcc bc bison flex xz tar dpkg-deb apt-get sha256sum flock patch; do
	command -v "$tool" >/dev/null || die "$tool not found; run scripts/install-deps.sh --live"
done
[ -e /usr/include/libelf.h ] || die "libelf-dev missing; run scripts/install-deps.sh --live"
[ -e /usr/include/openssl/ssl.h ] || die "libssl-dev missing; run scripts/install-deps.sh --live"

mkdir -p "$cache/kernel"
# One build at a time per cache: the tree is shared. The loser waits, then
# finds the cached result.
exec 9>"$cache/kernel/.lock"
flock 9

t0=$(date +%s)
secs() { echo "$(( $(date +%s) - $1 ))s"; }
mk=(make -C "$src" ARCH=x86_64 O="$tree/build")
jobs=$(( $(nproc) + 1 ))

# Files a patched build changed, restored with a fresh mtime (so what was
# built from them is rebuilt next time); files it added are removed.
restore_tree() {
	[ -d "$tree/pristine" ] || return 0
	if [ -f "$tree/pristine.added" ]; then
		while IFS= read -r f; do rm -f "$src/$f"; done <"$tree/pristine.added"
	fi
	(cd "$tree/pristine" && find . -type f -print0) | while IFS= read -r -d '' f; do
		cp "$tree/pristine/$f" "$src/$f"
	done
	rm -rf "$tree/pristine" "$tree/pristine.added"
}

# Trees kept: the newest of each role (source + fragment files: the 7.2 lane,
# the 7.2 debug lane, the 6.12 lane, ...) and, besides, the three newest of
# all (a clone whose fragment text differs, a branch's, keeps its own), so at
# most roles + 3 trees of ~2.1 GB. A tree's role is in its `role` file; a tree
# made before those files existed takes it from its published kernel's info.
tree_role() {  # $1: tree folder
	local info="$cache/kernel/${1##*/tree-}/info" s f
	if [ -f "$1/role" ]; then cat "$1/role"; return; fi
	[ -f "$info" ] || { echo unfinished; return; }   # a killed build's: no role of its own
	s=$(sed -n 's/^source: //p' "$info"); f=$(sed -n 's/^fragments: //p' "$info")
	echo "$s $(for p in $f; do basename "$p"; done | tr '\n' ' ')" | sed 's/ $//'
}
prune_trees() {
	local t r n=0 keep seen=$'\n'"$role"$'\n'   # the tree about to be made is this role's newest
	for t in $(ls -dt "$cache"/kernel/tree-* 2>/dev/null); do
		n=$((n + 1)); r=$(tree_role "$t"); keep=0
		[ "$n" -le 2 ] && keep=1    # with the new tree: the three newest
		case $r in unfinished) ;; *)
			case $seen in *$'\n'"$r"$'\n'*) ;; *) keep=1; seen+="$r"$'\n' ;; esac ;;
		esac
		[ "$keep" = 1 ] || { say "removing the kept tree ${t##*/} ($r): a newer tree has its role"; rm -rf "$t"; }
	done
}

# 1. Source, unpacked once per key: the .deb holds one tarball, kept (~150 MB)
#    per version so a fragment change does not download again.
srcpkg="$cache/kernel/source-$SRC_PKG-$SRC_VER" tarball=usr/src/$SRC_PKG.tar.xz
fetch_source() {
	[ ! -f "$srcpkg/$tarball" ] || return 0
	say "downloading $SRC_PKG=$SRC_VER from Debian $SUITE"
	"$root/scripts/fetch-debian.sh" "$SUITE" "$SRC_PKG=$SRC_VER" "$srcpkg" "$tarball" >&2 \
		|| die "cannot fetch $SRC_PKG=$SRC_VER from Debian $SUITE: the mirror no longer carries that" \
			"version or is unreachable; bump $release's version in fixtures/kernel/releases.tsv" \
			"to what the mirror lists"
	say "download: $(secs "$t0")"
}
if [ "$mode" = source ]; then fetch_source; echo "$srcpkg/$tarball"; exit 0; fi
unpack_and_configure() {
	local t
	fetch_source
	rm -rf "$cache"/kernel/work-* "$tree"
	prune_trees
	mkdir -p "$tree/build"
	echo "$role" >"$tree/role"
	t=$(date +%s)
	tar -C "$tree" -xf "$srcpkg/$tarball"
	[ -f "$src/Makefile" ] || die "tarball did not unpack to $src"
	say "unpack: $(secs "$t")"

	# Configure. Without ARCH=x86_64 tinyconfig is 32-bit. scripts/config sets
	# symbols one by one; olddefconfig then resolves dependencies, which may
	# newly allow a symbol that was refused the first time, so repeat.
	t=$(date +%s)
	"${mk[@]}" -s tinyconfig >&2
	"${mk[@]}" -s kvm_guest.config >&2
	local args=() line n missing=()
	while IFS= read -r line; do
		case $line in
			CONFIG_*=y) n=${line%%=*}; args+=(--enable "${n#CONFIG_}") ;;
			CONFIG_*=n|'# CONFIG_'*' is not set')
				n=${line#\# }; n=${n%% *}; n=${n%%=*}; args+=(--disable "${n#CONFIG_}") ;;
			CONFIG_*=*) n=${line%%=*}; args+=(--set-val "${n#CONFIG_}" "${line#*=}") ;;
		esac
	done < <(settings)
	for _ in 1 2 3; do
		"$src/scripts/config" --file "$tree/build/.config" "${args[@]}"
		"${mk[@]}" -s olddefconfig >&2
	done
	while IFS= read -r line; do
		grep -qx "$line" "$tree/build/.config" || missing+=("${line%%=*}")
	done < <(settings | grep -E '^CONFIG_[A-Za-z0-9_]+=y$')
	if [ "${#missing[@]}" -gt 0 ]; then
		die "config symbols did not survive olddefconfig (unmet dependencies?): ${missing[*]}; see $tree/build/.config"
	fi
	say "config: $(secs "$t") ($(grep -c '=y$' "$tree/build/.config") symbols =y)"
	touch "$tree/.configured"
}

build_bzimage() {  # $1: what for (log name)
	local t log="$tree/build-$1.log"
	t=$(date +%s)
	say "building bzImage ($1) with -j$jobs (log: $log)"
	"${mk[@]}" -s olddefconfig >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "olddefconfig failed; log in $log"; }
	if ! "${mk[@]}" -j"$jobs" bzImage >>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		return 1
	fi
	say "build ($1): $(secs "$t")"
}

publish() {  # $1: cache folder, $2: info lines
	rm -rf "$1.tmp" && mkdir -p "$1.tmp"
	cp "$tree/build/arch/x86/boot/bzImage" "$1.tmp/bzImage"
	cp "$tree/build/.config" "$1.tmp/.config"
	{
		echo "source: $SRC_PKG=$SRC_VER"
		echo "recipe: $RECIPE"
		echo "kernelrelease: $("${mk[@]}" -s kernelrelease)"
		printf '%s\n' "$2"
		echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(secs "$t0")"
	} > "$1.tmp/info"
	rm -rf "$1" && mv "$1.tmp" "$1"
}

[ -f "$tree/.configured" ] || unpack_and_configure
restore_tree    # a build that was killed may have left its diff applied

# 2. --patched: COMMAND writes the diff from the pristine tree (the lock
#    keeps other builds out meanwhile), before any build, so a series that
#    does not apply fails at once.
if [ "$mode" = patched ]; then
	mkdir -p "$(dirname "$diff")"
	rc=0
	"$@" --source "$src" --diff "$diff" || rc=$?
	[ "$rc" -eq 0 ] || exit "$rc"
	[ -s "$diff" ] || die "$1 wrote no diff to $diff"
fi
if [ "$mode" != base ]; then
	pkey=$(patched_key "$diff")
	pfinal="$cache/kernel/patched/$pkey"
	if usable "$pfinal"; then say "cached: $pfinal"; deliver "$pfinal"; exit 0; fi
fi

# 3. The pristine kernel, built once: its objects are what patched builds reuse.
if [ ! -f "$tree/.built" ]; then
	build_bzimage base || die "kernel build failed; log in $tree/build-base.log"
	touch "$tree/.built"
	[ -f "$final/bzImage" ] || publish "$final" "fragments: ${fragments[*]}"
	cat "${fragments[@]}" >"$final/fragment.config" 2>/dev/null || true
fi
if [ "$mode" = base ]; then
	say "done in $(secs "$t0"): $final/bzImage ($(du -h "$final/bzImage" | cut -f1))"
	deliver "$final"; exit 0
fi

# 4. The patched kernel, built on the pristine one.
# Keep a pristine copy of every file the diff names, note the ones it adds.
mkdir -p "$tree/pristine"
: >"$tree/pristine.added"
trap 'restore_tree' EXIT
while IFS= read -r f; do
	case $f in /*|*..*) die "diff names an unsafe path: $f" ;; esac
	if [ -f "$src/$f" ]; then
		mkdir -p "$tree/pristine/$(dirname "$f")" && cp -p "$src/$f" "$tree/pristine/$f"
	else
		echo "$f" >>"$tree/pristine.added"
	fi
done < <(sed -n -e 's|^+++ b/||p' -e 's|^--- a/||p' "$diff" | sort -u)
patch -d "$src" -p1 -s -F0 --no-backup-if-mismatch -r - <"$diff" >&2 \
	|| die "the diff does not apply to pristine $SRC_PKG $SRC_VER: $diff"
build_bzimage patched || die "the patched kernel does not build; log in $tree/build-patched.log"
mkdir -p "$cache/kernel/patched"
publish "$pfinal" "diff: sha256 ${pkey}"
cp "$diff" "$pfinal/applied.diff"
# A diff that turns gcov on (fixtures/kernel/coverage.diff): keep its notes
# files and the sources they describe with the kernel, for make coverage.
# A note belongs to the image when its object was last compiled with gcov
# (its .cmd says so), whether or not this build recompiled it.
gcno=$(cd "$tree/build" && find . -name '*.gcno' | sed 's|^\./||' | while read -r f; do
	if grep -qs -- -fprofile-arcs "$(dirname "$f")/.$(basename "$f" .gcno).o.cmd"; then echo "$f"; fi
done)
if [ -n "$gcno" ]; then
	(cd "$tree/build" && printf '%s\n' $gcno | tar -cf "$pfinal/gcno.tar" -T -)
	for d in $(printf '%s\n' $gcno | xargs -n1 dirname | sort -u); do
		mkdir -p "$pfinal/src/$d" && cp "$src/$d"/*.[ch] "$pfinal/src/$d/"
	done
	echo "gcov: $(printf '%s\n' $gcno | wc -l) notes files" >>"$pfinal/info"
fi
say "done in $(secs "$t0"): $pfinal/bzImage"
deliver "$pfinal"
