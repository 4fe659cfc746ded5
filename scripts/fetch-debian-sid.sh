#!/usr/bin/env bash
# Download one package from Debian sid and unpack it under .deps/ (private apt
# state in .deps/apt-sid); scripts/fetch-debian.sh does the work.
#   scripts/fetch-debian-sid.sh PACKAGE[=VERSION] DEST_DIR [CHECK_FILE]
exec "$(dirname "$0")/fetch-debian.sh" sid "$@"
