#!/usr/bin/env bash
# A private Python environment holding one PyPI package at a pinned version:
# .deps/NAME (git-ignored). Idempotent; needs python3-venv
# (scripts/install-deps.sh installs it).
#   scripts/pip-venv.sh NAME PACKAGE VERSION PROGRAM
#       create or reuse .deps/NAME with PACKAGE==VERSION; print its bin/PROGRAM
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 4 ] || { echo "usage: $0 NAME PACKAGE VERSION PROGRAM" >&2; exit 2; }
venv="$root/.deps/$1" package=$2 want=$3 program=$4
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
check="import importlib.metadata as m, sys; sys.exit(m.version('$package') != '$want')"
if [ -x "$venv/bin/$program" ] && "$venv/bin/python3" -c "$check" 2>/dev/null; then
	echo "$venv/bin/$program"; exit 0
fi
rm -rf "$venv"
"$py" -m venv "$venv" >&2 || { echo "error: cannot create $venv (install python3-venv)" >&2; exit 2; }
"$venv/bin/pip" install -q "$package==$want" >&2 || { echo "error: pip install $package==$want failed" >&2; exit 2; }
echo "$venv/bin/$program"
