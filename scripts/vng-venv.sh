#!/usr/bin/env bash
# A private Python environment with virtme-ng (PyPI), the tool kernel
# maintainers boot their kernels with: .deps/vng-venv (git-ignored), for
# scripts/check-vng.sh. Idempotent; needs python3-venv and QEMU.
#   scripts/vng-venv.sh          create or reuse it; print its vng
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.deps/vng-venv"
want=1.42
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
check="import importlib.metadata as m, sys; sys.exit(m.version('virtme-ng') != '$want')"
if [ -x "$venv/bin/vng" ] && "$venv/bin/python3" -c "$check" 2>/dev/null; then
	echo "$venv/bin/vng"; exit 0
fi
rm -rf "$venv"
"$py" -m venv "$venv" >&2 || { echo "error: cannot create $venv (install python3-venv)" >&2; exit 2; }
"$venv/bin/pip" install -q "virtme-ng==$want" >&2 || { echo "error: pip install virtme-ng==$want failed" >&2; exit 2; }
echo "$venv/bin/vng"
