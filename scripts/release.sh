#!/usr/bin/env bash
# Headers, source and profile of a released kernel listed in
# fixtures/kernel/releases.tsv (name, Debian suite, pinned version, date, like).
#   scripts/release.sh headers NAME   .deps/linux-libc-dev-X.Y/ (linux-libc-dev=VERSION)
#   scripts/release.sh source NAME    .deps/linux-source-X.Y/ (iommufd and vfio of linux-source-X.Y=VERSION)
#   scripts/release.sh profile NAME   both, then fixtures/profiles/NAME.json with
#                                     `uapi-conform abi --dump-profile` (BIN, default .build/debug/uapi-conform)
# Nothing fetched is committed (.deps is git-ignored). Bad input: exit 2.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "release: error: $*" >&2; exit 2; }
what=${1:-}; name=${2:-}
case $what in headers|source|profile) ;; *) die "usage: $0 headers|source|profile NAME" ;; esac
[ -n "$name" ] || die "usage: $0 $what NAME (a name of fixtures/kernel/releases.tsv)"
line=$(awk -F'\t' -v n="$name" '!/^#/ && $1 == n' "$root/fixtures/kernel/releases.tsv")
known=$(awk -F'\t' '!/^#/ {printf "%s ", $1}' "$root/fixtures/kernel/releases.tsv")
[ -n "$line" ] || die "$name is not in fixtures/kernel/releases.tsv (known: ${known% })"
IFS=$'\t' read -r _ suite version date like <<<"$line"
series=${name#linux-}
headers="$root/.deps/linux-libc-dev-$series"
source="$root/.deps/linux-source-$series"

fetch_headers() {
	"$root/scripts/fetch-debian.sh" "$suite" "linux-libc-dev=$version" "$headers" usr/include/linux/iommufd.h
}

# Only the folders the profile reads leave the 150 MB tarball.
fetch_source() {
	local stamp="$source/.version" pkg="linux-source-$series"
	[ "$(cat "$stamp" 2>/dev/null)" = "$version" ] && return 0
	"$root/scripts/fetch-debian.sh" "$suite" "$pkg=$version" "$source.deb" "usr/src/$pkg.tar.xz"
	rm -rf "$source" && mkdir -p "$source"
	tar -C "$source" -xJf "$source.deb/usr/src/$pkg.tar.xz" --wildcards \
		"$pkg/drivers/iommu/iommufd/*" "$pkg/drivers/vfio/*" \
		|| die "cannot unpack $pkg.tar.xz"
	rm -rf "$source.deb"
	echo "$version" >"$stamp"
	echo "unpacked drivers/iommu/iommufd and drivers/vfio of $pkg=$version into ${source#"$root"/}"
}

case $what in
headers) fetch_headers ;;
source) fetch_source ;;
profile)
	[ "$like" != - ] || die "$name's profile is curated by hand (like '-' in releases.tsv), not made by the recipe"
	fetch_headers; fetch_source
	bin=${BIN:-$root/.build/debug/uapi-conform}
	[ -x "$bin" ] || die "$bin is not built (swift build)"
	out="$root/fixtures/profiles/$name.json"
	headers_note="Debian $suite linux-libc-dev $version include/linux/{iommufd,vfio}.h,"
	headers_note+=" probed with clang on x86_64 (lp64) and i386 (ilp32)"
	source_note="Debian $suite linux-source-$series $version: IOCTL_OP last members (drivers/iommu/iommufd/main.c),"
	source_note+=" vfio minsz (drivers/vfio), must-be-zero fields the handlers never read,"
	source_note+=" iommufd_test.h (IOMMU_TEST_CMD, test_only)"
	"$bin" abi --headers "$headers/usr/include" --dump-profile "$name" --released --like "$like" \
		--kernel-source "$source" --date "$date" --fixtures "$root/fixtures" \
		--title "Linux $series (Debian linux-libc-dev $version, $suite)" \
		--note "$headers_note" --note "$source_note" >"$out.tmp"
	mv "$out.tmp" "$out"
	echo "wrote ${out#"$root"/}"
	;;
esac
