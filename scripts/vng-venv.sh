#!/usr/bin/env bash
# virtme-ng (PyPI), the tool kernel maintainers boot their kernels with, in
# .deps/vng-venv (git-ignored), for scripts/check-vng.sh; needs QEMU to run.
#   scripts/vng-venv.sh          create or reuse it; print its vng
exec "$(dirname "$0")/pip-venv.sh" vng-venv virtme-ng 1.42 vng
