#!/usr/bin/env bash
# Installs the Debian packages enchufe needs to build, test and run.
# Idempotent and quiet when everything is present: `make run` and `make test`
# call it every time, so a fresh Debian 12 machine needs nothing else.
set -euo pipefail

packages=(
  build-essential make cmake ninja-build pkg-config   # compiler and build
  libboost1.81-dev                               # Asio (networking runtime) and Beast (HTTP, WebSocket)
  libboost-json1.81-dev libboost-url1.81-dev     # JSON (logs, web protocol) and URLs
  libssl-dev openssl                             # TLS (OpenSSL under Asio's ssl::stream); openssl s_client/s_server in tests
  libsqlite3-dev libsqlitecpp-dev                # the chat's history on disk (SQLite, through SQLiteCpp)
  libsodium-dev                                  # chat accounts: passwords hashed with Argon2id (crypto_pwhash_str)
  libhiredis-dev                                 # Redis's protocol (its reply reader and command framing) for the cluster
  libcli11-dev                                   # command line parsing
  libfmt-dev                                     # formatting and logging
  libgtest-dev libgmock-dev                      # unit and integration tests
  libbenchmark-dev                               # micro-benchmarks under bench/micro
  clang libclang-rt-14-dev                       # libFuzzer targets under fuzz/
  python3                                        # interop tests (the tutorial's programs)
  python3-websockets                             # interop tests: a second WebSocket client for the echo
  netcat-openbsd                                 # interop tests drive a real nc
  ncat                                           # interop tests: a TLS chat member (ncat --ssl)
  curl                                           # interop tests: HTTPS through a real client
  procps                                         # ps/pgrep in tests
  redis-server                                   # the cluster's tests and bench fanout --redis run a real Redis
  redis-tools                                    # redis-cli: the cluster tests ask Redis who listens and where rooms are numbered
  prometheus                                     # promtool checks the /metrics exposition format
  chromium                                       # browser tests of the chat page (tests/browser)
)
# Node.js and npm run the browser tests (playwright-core) and the WebSocket
# bench peer. The machine may have them from NodeSource (its nodejs package
# bundles npm, and conflicts with Debian's npm): install Debian's only if
# the commands are missing.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
