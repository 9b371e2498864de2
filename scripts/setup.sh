#!/usr/bin/env bash
# Installs, idempotently, every Debian 12 package the project needs to build, test, fuzz and demo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libssl-dev openssl            # crypto layer (OpenSSL 3)
  libcbor-dev                   # cbor layer
  libcpp-httplib-dev            # transport layer
  libsqlite3-dev sqlite3        # storage layer
  libcrypt-dev                  # fsim layer: SHA-512 crypt (Password-Manager)
  libtss2-dev swtpm swtpm-tools # TPM layer and its simulator
  tpm2-tools                    # TPM tests: an independent reader of what the TPM holds (never our code path)
  libcli11-dev                  # executables
  nlohmann-json3-dev            # types layer: the tools' JSON and --rv-info; the test harness reads JSON
  libgtest-dev libgmock-dev libbenchmark-dev   # tests and bench
  clang libclang-rt-14-dev      # libFuzzer targets
  python3 git                   # demo.sh reads the tools' JSON; test.sh runs the demo from a fresh clone
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
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
