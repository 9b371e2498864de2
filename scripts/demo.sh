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
echo "== The supply chain on loopback: manufacturer, rendezvous, reseller, owner, device"
"$bin/fdo-manufacturer" init --dir "$work/mfg" >/dev/null 2>&1 || fail "fdo-manufacturer init"
say "fdo-manufacturer init: manufacturer signing key and device CA in $work/mfg (0600)"
start_server rendezvous "$bin/fdo-rendezvous" serve --dir "$work/rv" --listen 127.0.0.1:0 --max-wait-seconds 600
rv_url=$url
say "fdo-rendezvous serve: rendezvous server listening on $rv_url"
start_server manufacturer "$bin/fdo-manufacturer" serve --dir "$work/mfg" --listen 127.0.0.1:0 --rv "$rv_url"
mfg_url=$url
say "fdo-manufacturer serve: DI server listening on $mfg_url, putting $rv_url into every voucher"

"$bin/fdo-device" di --url "$mfg_url" --credential "$work/device.cred" --key-type p256 --serial DEMO-0001 \
  --model demo-sensor >/dev/null 2>"$work/device-di.log" || { cat "$work/device-di.log" >&2; fail "fdo-device di"; }
cred=$("$bin/fdo-device" show --credential "$work/device.cred" --json --reveal)
guid=$(echo "$cred" | json_field '["guid"]')
secret=$(echo "$cred" | json_field '["hmac_secret"]')
say "fdo-device di: device initialized (DI 10-13), GUID $guid, credential $work/device.cred (0600)"

"$bin/fdo-manufacturer" vouchers export --dir "$work/mfg" "$guid" -o "$work/device.voucher.pem" 2>/dev/null \
  || fail "voucher export"
say "fdo-manufacturer vouchers export: ownership voucher of $guid (0 entries, owned by the manufacturer)"
"$bin/fdo-reseller" verify "$work/device.voucher.pem" --hmac-secret "$secret" --json >"$work/verify0.json" 2>/dev/null \
  && fail "a voucher with no entries must not verify for TO0"
failed=$(python3 -c 'import json,sys; print(",".join(c["name"] for c in json.load(open(sys.argv[1]))["checks"] if not c["ok"]))' "$work/verify0.json")
[ "$failed" = "entries count" ] || fail "fresh voucher: unexpected failures: $failed"
say "fdo-reseller verify --hmac-secret: header HMAC and cert chain hash pass; only 'entries count' fails (no owner yet)"

"$bin/fdo-owner" init --dir "$work/owner" >/dev/null 2>&1 || fail "fdo-owner init"
"$bin/fdo-owner" pubkey --dir "$work/owner" -o "$work/owner.pub.pem" 2>/dev/null || fail "fdo-owner pubkey"
say "fdo-owner init + pubkey: the buyer's owner key ($work/owner.pub.pem)"

"$bin/fdo-reseller" keygen --key-type p256 -o "$work/reseller.key.pem" --pub "$work/reseller.pub.pem" >/dev/null 2>&1
"$bin/fdo-reseller" extend "$work/device.voucher.pem" --owner-key "$work/mfg/manufacturer-p256.key.pem" \
  --next-owner "$work/reseller.pub.pem" -o "$work/step1.voucher.pem" 2>/dev/null || fail "extend to reseller"
say "fdo-reseller extend: manufacturer signs the voucher over to a reseller (entry 0)"
"$bin/fdo-reseller" extend "$work/step1.voucher.pem" --owner-key "$work/reseller.key.pem" \
  --next-owner "$work/owner.pub.pem" -o "$work/owned.voucher.pem" 2>/dev/null || fail "extend to owner"
say "fdo-reseller extend: the reseller signs it over to the owner (entry 1)"
"$bin/fdo-reseller" verify "$work/owned.voucher.pem" --hmac-secret "$secret" --json >"$work/verify.json" 2>/dev/null \
  || { cat "$work/verify.json"; fail "extended voucher does not verify"; }
checks=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["checks"]))' "$work/verify.json")
say "fdo-reseller verify: valid, all $checks checks pass (header HMAC, cert chain hash, 2 signatures and hash links)"

to2_url="http://127.0.0.1:8043"
to0=$("$bin/fdo-owner" to0 --dir "$work/owner" --voucher "$work/owned.voucher.pem" --to2-url "$to2_url" \
  --wait-seconds 300 --json 2>"$work/to0.log") || { cat "$work/to0.log" >&2; fail "fdo-owner to0"; }
granted=$(echo "$to0" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(", ".join(f"{s} s by {u}" for u, s in d["wait_seconds"].items()))')
say "fdo-owner to0: the owner registered $to2_url for the device (TO0 20-23), granted $granted"

to1=$("$bin/fdo-device" to1 --credential "$work/device.cred" --json 2>"$work/to1.log") \
  || { cat "$work/to1.log" >&2; fail "fdo-device to1"; }
urls=$(echo "$to1" | json_field '["to2_urls"]')
echo "$to1" | grep -q "$to2_url" || fail "the device did not receive the owner's address"
say "fdo-device to1: the device proved itself to the rendezvous server (TO1 30-33) and learned its owner is at $urls"

echo
echo "demo finished: every step passed"
