#!/usr/bin/env bash
# The README's first command: installs what it needs, builds, and shows the FDO supply chain that exists so far,
# one readable line per step. Everything runs on loopback; servers it starts are stopped on exit.
# Exits non-zero if any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
interop="$root/../shared/interop"

./scripts/setup.sh >/dev/null
echo "== building (build/)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/tmp/fdo-demo-build.log 2>&1 \
  && ninja -C build -j "$(nproc)" >>/tmp/fdo-demo-build.log 2>&1 \
  || { tail -n 40 /tmp/fdo-demo-build.log >&2; echo "FAILED: build (log: /tmp/fdo-demo-build.log)" >&2; exit 1; }
bin="$root/build/bin"

work=$(mktemp -d /tmp/fdo-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step=0
say() { step=$((step + 1)); printf '%2d. %s\n' "$step" "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

# start_server NAME CMD...: runs a server on 127.0.0.1:0 and sets $url from its "listening on" line.
start_server() {
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    url=$(grep -o 'listening on http://[^ ]*' "$work/$name.log" | head -n1 | sed 's/listening on //') || true
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  cat "$work/$name.log" >&2
  fail "$name did not start"
}

echo
echo "== Ownership vouchers made by other FDO implementations (../shared/interop)"
for f in fdo-rs-v101-voucher2.pem fdo-rs-v101-voucher1.pem pri-v100-voucher1.pem; do
  summary=$("$bin/fdo-reseller" show "$interop/$f" --json)
  guid=$(echo "$summary" | json_field '["guid"]' 2>/dev/null || echo "?")
  info=$(echo "$summary" | json_field '["device_info"]' 2>/dev/null || echo "?")
  say "show   $f: GUID $guid, device info \"$info\""
done
"$bin/fdo-reseller" verify "$interop/fdo-rs-v101-voucher2.pem" >/dev/null || fail "voucher2 should verify"
say "verify fdo-rs-v101-voucher2.pem: valid (cert-chain hash, 2 entry hash links, hdrinfo hashes, ES256 signatures)"
if out=$("$bin/fdo-reseller" verify "$interop/fdo-rs-v101-voucher1.pem" --json 2>/dev/null); then
  fail "voucher1 should fail its device cert chain hash check"
fi
failed=$(echo "$out" | python3 -c 'import json,sys; print(", ".join(c["name"] for c in json.load(sys.stdin)["checks"] if not c["ok"]))')
[ "$failed" = "device cert chain hash" ] || fail "voucher1: unexpected failures: $failed"
say "verify fdo-rs-v101-voucher1.pem: invalid, exactly as expected: '$failed' (older fdo-rs hashed the CBOR array, pitfall P5)"
"$bin/fdo-reseller" verify "$interop/fdo-rs-v101-voucher1.pem" --lenient legacy-cert-chain-hash >/dev/null 2>&1 \
  || fail "voucher1 should verify with --lenient legacy-cert-chain-hash"
say "verify fdo-rs-v101-voucher1.pem --lenient legacy-cert-chain-hash: valid, with a logged warning naming the deviation"
if out=$("$bin/fdo-reseller" verify "$interop/pri-v100-voucher1.pem" 2>&1); then
  fail "an FDO 1.0 voucher must not verify as 1.1"
fi
echo "$out" | grep -q "protocol version 100" || fail "pri-v100 should be reported as protocol version 100"
say "verify pri-v100-voucher1.pem: refused, 'protocol version 100' (an FDO 1.0 voucher)"

echo
echo "demo finished: every step passed"
