#!/usr/bin/env bash
# Download one package from Debian sid and unpack it under .deps/, without
# touching the system's apt configuration, lists, cache or installed packages:
# apt runs with its own sources list, lists dir and cache dir.
#   scripts/fetch-debian-sid.sh PACKAGE[=VERSION] DEST_DIR [CHECK_FILE]
set -euo pipefail
pkg=${1:?package}; dest=${2:?destination}; check=${3:-}
case $dest in /*) ;; *) dest="$PWD/$dest" ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.deps/apt-sid"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
# Reuse the mirror this machine's apt already uses (Debian's, per its sources).
mirror=$( { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
            grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -oE 'https?://[^ ]+'; } \
          | grep -E '/debian/?$' | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main" > "$state/sources.list"
opts=(-o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache"
      -o Dir::State::Status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
if [ -n "$check" ] && [ -e "$dest/$check" ]; then exit 0; fi
# Refresh the sid index at most once an hour.
if [ -z "$(find "$state/lists" -name '*sid*Packages*' -mmin -60 2>/dev/null | head -n1)" ]; then
  apt-get "${opts[@]}" -qq update >/dev/null || { echo "error: apt-get update for sid failed" >&2; exit 2; }
fi
cd "$state/debs"
name=${pkg%%=*}
rm -f "${name}"_*.deb
apt-get "${opts[@]}" -qq download "$pkg" >/dev/null 2>&1 \
  || { echo "error: cannot download $pkg from Debian sid (mirror $mirror)" >&2; exit 2; }
deb=$(ls "${name}"_*.deb | head -n1)
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
dpkg-deb -x "$deb" "$dest.tmp"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
if [ -n "$check" ] && [ ! -e "$dest/$check" ]; then
  echo "error: $deb unpacked, but $check is missing" >&2; exit 2
fi
echo "fetched $deb into ${dest#$root/}"
