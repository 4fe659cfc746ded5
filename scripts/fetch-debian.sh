#!/usr/bin/env bash
# Download one package from a Debian suite and unpack it under .deps/, without
# touching the system's apt configuration, lists, cache or installed packages:
# apt runs with its own sources list, lists dir and cache dir (.deps/apt-SUITE).
#   scripts/fetch-debian.sh SUITE PACKAGE[=VERSION] DEST_DIR [CHECK_FILE]
# SUITE is a Debian suite or codename (sid, trixie, ...); for a stable release
# its -updates and -security pockets are searched too. A pinned VERSION the
# mirror no longer carries is exit 2, naming the versions it does carry.
set -euo pipefail
suite=${1:?suite}; pkg=${2:?package}; dest=${3:?destination}; check=${4:-}
case $suite in *[!a-z0-9-]*|"") echo "error: bad suite name '$suite'" >&2; exit 2 ;; esac
case $dest in /*) ;; *) dest="$PWD/$dest" ;; esac
if [ -n "$check" ] && [ -e "$dest/$check" ]; then exit 0; fi
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.deps/apt-$suite"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
# Reuse the mirror this machine's apt already uses (Debian's, per its sources).
mirror=$( { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
            grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
              | grep -oE 'https?://[^ ]+'; } \
          | grep -E '/debian/?$' | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
key=/usr/share/keyrings/debian-archive-keyring.gpg
{
	echo "deb [signed-by=$key] $mirror $suite main"
	case $suite in
	sid|unstable|experimental|rc-buggy) ;;
	*)	echo "deb [signed-by=$key] $mirror $suite-updates main"
		echo "deb [signed-by=$key] ${mirror%/debian*}/debian-security $suite-security main" ;;
	esac
} > "$state/sources.list.new"
# A changed sources list (another mirror) invalidates the lists.
if ! cmp -s "$state/sources.list.new" "$state/sources.list"; then
	mv "$state/sources.list.new" "$state/sources.list"; rm -rf "$state/lists"; mkdir -p "$state/lists/partial"
else
	rm -f "$state/sources.list.new"
fi
opts=(-o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache"
      -o Dir::State::Status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
# Refresh the suite's index at most once an hour.
if [ -z "$(find "$state/lists" -name "*_${suite}_*Packages*" -mmin -60 2>/dev/null | head -n1)" ]; then
	apt-get "${opts[@]}" -qq update >/dev/null 2>"$state/update.log" \
		|| { echo "error: apt-get update for $suite failed (mirror $mirror): $(tail -n1 "$state/update.log")" >&2; exit 2; }
fi
name=${pkg%%=*}
cd "$state/debs"
rm -f "${name}"_*.deb
if ! apt-get "${opts[@]}" -qq download "$pkg" >/dev/null 2>&1; then
	have=$(apt-cache "${opts[@]}" madison "$name" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' \
		| sort -u | tr '\n' ' ')
	if [ "$pkg" != "$name" ] && [ -n "$have" ]; then
		echo "error: Debian $suite no longer carries $pkg (the mirror moved on; it has: ${have% }):" \
			"bump the pinned version" >&2
	else
		echo "error: cannot download $pkg from Debian $suite (mirror $mirror${have:+; versions: ${have% }})" >&2
	fi
	exit 2
fi
deb=$(ls "${name}"_*.deb | head -n1)
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
dpkg-deb -x "$deb" "$dest.tmp"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
if [ -n "$check" ] && [ ! -e "$dest/$check" ]; then
	echo "error: $deb unpacked, but $check is missing" >&2; exit 2
fi
echo "fetched $deb into ${dest#"$root"/}"
