#!/usr/bin/env bash
# A private Python environment with KernelCI's kcidb-io (PyPI), which the
# tests use to validate --format kcidb output: .deps/kcidb-venv (git-ignored).
#   scripts/kcidb-venv.sh          create or reuse it; print its python
exec "$(dirname "$0")/pip-venv.sh" kcidb-venv kcidb-io 141 python3
