#!/usr/bin/env bash
# A private Python environment with KernelCI's kcidb-io (PyPI), which the
# tests use to validate --format kcidb output: .deps/kcidb-venv (git-ignored).
# Idempotent; needs python3-venv (scripts/install-deps.sh installs it).
#   scripts/kcidb-venv.sh          create or reuse it; print its python
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.deps/kcidb-venv"
want=141
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
check="import kcidb_io, importlib.metadata as m, sys; sys.exit(m.version('kcidb-io') != '$want')"
if "$venv/bin/python3" -c "$check" 2>/dev/null; then
	echo "$venv/bin/python3"; exit 0
fi
rm -rf "$venv"
"$py" -m venv "$venv" >&2 || { echo "error: cannot create $venv (install python3-venv)" >&2; exit 2; }
"$venv/bin/pip" install -q "kcidb-io==$want" >&2 || { echo "error: pip install kcidb-io==$want failed" >&2; exit 2; }
echo "$venv/bin/python3"
