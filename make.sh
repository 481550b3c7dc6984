#!/usr/bin/env bash
# The entry point of the README's two commands: installs whatever is missing
# (make itself included, so a fresh Debian machine needs nothing first), then
# runs the Makefile target: `./make.sh run` or `./make.sh test`.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
exec make --no-print-directory "$@"
