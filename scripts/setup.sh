#!/usr/bin/env bash
# Installs, idempotently, every Debian 12 package the project needs to build, test, fuzz and demo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libssl-dev openssl            # crypto layer (OpenSSL 3)
  libcbor-dev                   # cbor layer
  libcpp-httplib-dev            # transport layer
  libsqlite3-dev sqlite3        # storage layer
  libpq-dev                     # storage layer: the PostgreSQL store (docs/scaling.md)
  postgresql-15                 # the PostgreSQL tests start their own cluster (ctest -L postgres)
  haproxy                       # the multi-instance tests put each role behind it (docs/scaling.md)
  libcrypt-dev                  # fsim layer: SHA-512 crypt (Password-Manager)
  libtss2-dev swtpm swtpm-tools # TPM layer and its simulator
  tpm2-tools                    # TPM tests: an independent reader of what the TPM holds (never our code path)
  libcli11-dev                  # executables
  libsystemd-dev                # servers: sd_notify readiness (tools/common/systemd.cpp)
  systemd dpkg-dev              # package test: systemd-analyze verify, dpkg-shlibdeps (scripts/package.sh)
  systemd-container             # package test: boots a throwaway system with systemd-nspawn
  nlohmann-json3-dev            # types layer: the tools' JSON and --rv-info; the test harness reads JSON
  libgtest-dev libgmock-dev libbenchmark-dev   # tests and bench
  clang libclang-rt-14-dev      # libFuzzer targets, and the ASan/UBSan test pass (scripts/test.sh)
  lld                           # the linker CMake picks when installed (cmake/linker.cmake)
  python3 git                   # demo.sh reads the tools' JSON; test.sh runs the demo from a fresh clone
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# initdb refuses root: when the tests run as root, the PostgreSQL test clusters run as this system user
# (libfdo/storage/postgres_test_support.h creates it too when it is missing).
ensure_pgtest_user() {
  if [ "$(id -u)" -eq 0 ] && ! getent passwd fdo-pgtest >/dev/null; then
    useradd --system --no-create-home --shell /usr/sbin/nologin fdo-pgtest
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  ensure_pgtest_user
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
ensure_pgtest_user
