#!/usr/bin/env bash
# The README's first command: installs what it needs, builds the tools, and runs the FDO supply chain that exists
# so far, one readable line per step. Everything runs on loopback; the servers it starts are stopped on exit.
# Exits non-zero if any step fails.
#   --dir DIR   keep the demo's files in DIR (default: build/demo); it is emptied at the start of a run
#   --bin DIR   use tools already built in DIR instead of building them (CI reuses the test build this way)
#   --clean     remove the demo's folder and exit
#   --trace DIR write every protocol message into DIR/file-device, DIR/tpm-device (DI, TO1, TO2) and DIR/owner-to0
#               (TO0), one file each, as field-named CBOR diagnostic notation (ServiceInfo values masked)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
interop="$root/libfdo/testdata/interop"

work="$root/build/demo"
bin=""
clean=0
trace=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) work=$(realpath -m "${2:?--dir needs a folder}"); shift 2 ;;
    --bin) bin=$(realpath "${2:?--bin needs a folder}"); shift 2 ;;
    --clean) clean=1; shift ;;
    --trace) trace=$(realpath -m "${2:?--trace needs a folder}"); shift 2 ;;
    -h | --help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--dir DIR] [--bin DIR] [--clean] [--trace DIR]" >&2; exit 2 ;;
  esac
done
if [ "$clean" = 1 ]; then
  rm -rf "$work"
  echo "removed $work"
  exit 0
fi

fail() { echo "FAILED: $*" >&2; exit 1; }
tools=(fdo-manufacturer fdo-reseller fdo-rendezvous fdo-owner fdo-device fdo-tpm-provisioner)

if [ -z "$bin" ]; then
  echo "== setup: Debian packages (scripts/setup.sh)"
  ./scripts/setup.sh >/dev/null
  mkdir -p build
  log="$root/build/demo-build.log"
  echo "== configure (build/, Release; log: $log)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; fail "configure (log: $log)"; }
  echo "== build the ${#tools[@]} tools the demo runs: ${tools[*]} (first run: several minutes; log: $log)"
  # A progress line at every tenth of the build, from ninja's [done/total] status.
  if ! ninja -C build -j "$(nproc)" "${tools[@]}" 2>&1 | tee -a "$log" | awk '
    match($0, /^\[[0-9]+\/[0-9]+\]/) {
      split(substr($0, 2, RLENGTH - 2), n, "/")
      step = int(10 * n[1] / n[2])
      if (step > shown) { shown = step; printf "   %3d%%  (%d of %d build steps)\n", 10 * step, n[1], n[2]; fflush() }
    }'; then
    tail -n 30 "$log" >&2
    fail "build (log: $log)"
  fi
  bin="$root/build/bin"
fi
for t in "${tools[@]}"; do
  [ -x "$bin/$t" ] || fail "$bin/$t is missing"
done
command -v python3 >/dev/null || fail "python3 is needed to read the tools' JSON (scripts/setup.sh installs it)"
command -v swtpm >/dev/null || fail "swtpm is needed for the TPM-backed device (scripts/setup.sh installs it)"

rm -rf "$work"
mkdir -p "$work"
echo "== the demo's files go to $work"

# The --trace option of each transcript's commands (one per device, one for the owner's TO0), or nothing; arrays,
# so that a folder with spaces stays one argument.
trace_file=() trace_tpm=() trace_owner=()
if [ -n "$trace" ]; then
  trace_file=(--trace "$trace/file-device") trace_tpm=(--trace "$trace/tpm-device") trace_owner=(--trace "$trace/owner-to0")
fi
[ -n "$trace" ] && rm -rf "$trace" && mkdir -p "$trace"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

step=0
say() { step=$((step + 1)); printf '%2d. %s\n' "$step" "$*"; }
# json FILE EXPR: prints one value of a JSON document (lists joined with ", "), e.g. json f.json guid.
json() {
  python3 - "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
try:
    for part in sys.argv[2].split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
except (KeyError, IndexError, ValueError):
    sys.exit(f"{sys.argv[1]} has no {sys.argv[2]}")
if isinstance(doc, list):
    print(", ".join(str(v) for v in doc))
elif isinstance(doc, dict):
    print(", ".join(f"{k}: {v}" for k, v in doc.items()))
else:
    print(doc)
PY
}
# failed_checks FILE: the names of the failed checks in a `fdo-reseller verify --json` report.
failed_checks() {
  python3 - "$1" <<'PY'
import json, sys
print(", ".join(c["name"] for c in json.load(open(sys.argv[1]))["checks"] if not c["ok"]))
PY
}

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
  fail "$name did not start (log: $work/$name.log)"
}

# await_registered GUID FILE: waits (20 s at most) until the owner's automatic TO0 registered GUID; FILE keeps its
# `fdo-owner devices show --json`.
await_registered() {
  for _ in $(seq 1 200); do
    "$bin/fdo-owner" devices show "$1" --dir "$work/owner" --json >"$2" 2>/dev/null || true
    [ "$(json "$2" device.state 2>/dev/null)" = registered ] && return 0
    sleep 0.1
  done
  cat "$work/owner.log" >&2
  fail "automatic TO0 of $1"
}

echo
echo "== Ownership vouchers made by other FDO implementations (libfdo/testdata/interop/)"
for f in fdo-rs-v101-voucher2.pem fdo-rs-v101-voucher1.pem pri-v100-voucher1.pem; do
  "$bin/fdo-reseller" show "$interop/$f" --json >"$work/show-$f.json" 2>"$work/show-$f.log" \
    || { cat "$work/show-$f.log" >&2; fail "fdo-reseller show $f"; }
  shown_guid=$(json "$work/show-$f.json" vouchers.0.guid) || fail "fdo-reseller show --json $f: no GUID"
  shown_info=$(json "$work/show-$f.json" vouchers.0.device_info) || fail "fdo-reseller show --json $f: no device info"
  say "show   $f: GUID $shown_guid, device info \"$shown_info\""
done
"$bin/fdo-reseller" verify "$interop/fdo-rs-v101-voucher2.pem" >/dev/null 2>&1 || fail "voucher2 should verify"
say "verify fdo-rs-v101-voucher2.pem: valid (cert-chain hash, 2 entry hash links, hdrinfo hashes, ES256 signatures)"
if "$bin/fdo-reseller" verify "$interop/fdo-rs-v101-voucher1.pem" --json >"$work/verify-voucher1.json" 2>/dev/null; then
  fail "voucher1 should fail its device cert chain hash check"
fi
failed=$(failed_checks "$work/verify-voucher1.json")
[ "$failed" = "device cert chain hash" ] || fail "voucher1: unexpected failures: $failed"
say "verify fdo-rs-v101-voucher1.pem: invalid, as expected: only '$failed' fails (older fdo-rs hashed the CBOR array)"
"$bin/fdo-reseller" verify "$interop/fdo-rs-v101-voucher1.pem" --lenient legacy-cert-chain-hash >/dev/null 2>&1 \
  || fail "voucher1 should verify with --lenient legacy-cert-chain-hash"
say "verify fdo-rs-v101-voucher1.pem --lenient legacy-cert-chain-hash: valid, with a warning naming the deviation"
if out=$("$bin/fdo-reseller" verify "$interop/pri-v100-voucher1.pem" 2>&1); then
  fail "an FDO 1.0 voucher must not verify as 1.1"
fi
echo "$out" | grep -q "protocol version 100" || fail "pri-v100 should be reported as protocol version 100"
say "verify pri-v100-voucher1.pem: refused, 'protocol version 100' (an FDO 1.0 voucher)"

echo
echo "== The supply chain on loopback: manufacturer, rendezvous, reseller, owner, device"
"$bin/fdo-manufacturer" init --dir "$work/mfg" >/dev/null 2>"$work/mfg-init.log" \
  || { cat "$work/mfg-init.log" >&2; fail "fdo-manufacturer init"; }
say "fdo-manufacturer init: manufacturer signing key $work/mfg/manufacturer-p256.key.pem (0600) and device CA in $work/mfg"
start_server rendezvous "$bin/fdo-rendezvous" serve --dir "$work/rv" --listen 127.0.0.1:0 --admin-listen "" \
  --max-wait-seconds 600
rv_url=$url
say "fdo-rendezvous serve: rendezvous server listening on $rv_url (log: $work/rendezvous.log)"
start_server manufacturer "$bin/fdo-manufacturer" serve --dir "$work/mfg" --listen 127.0.0.1:0 --admin-listen "" --rv "$rv_url"
mfg_url=$url
say "fdo-manufacturer serve: DI server listening on $mfg_url, putting $rv_url into every voucher"

"$bin/fdo-device" di --url "$mfg_url" --credential "$work/device.cred" --key-type p256 --serial DEMO-0001 \
  --model demo-sensor "${trace_file[@]}" >/dev/null 2>"$work/device-di.log" || { cat "$work/device-di.log" >&2; fail "fdo-device di"; }
"$bin/fdo-device" show --credential "$work/device.cred" --json --reveal >"$work/device.json" 2>/dev/null \
  || fail "fdo-device show"
guid=$(json "$work/device.json" guid) || fail "fdo-device show --json: no guid"
secret=$(json "$work/device.json" hmac_secret) || fail "fdo-device show --json --reveal: no hmac_secret"
say "fdo-device di: device initialized (DI 10-13), GUID $guid, credential file $work/device.cred (0600)"

"$bin/fdo-manufacturer" vouchers export --dir "$work/mfg" "$guid" -o "$work/device.voucher.pem" \
  2>"$work/export.log" || { cat "$work/export.log" >&2; fail "voucher export"; }
say "fdo-manufacturer vouchers export: $work/device.voucher.pem (0 entries: the manufacturer still owns it)"
if "$bin/fdo-reseller" verify "$work/device.voucher.pem" --hmac-secret "$secret" --json >"$work/verify-fresh.json" \
  2>/dev/null; then
  fail "a voucher with no entries must not verify for TO0"
fi
failed=$(failed_checks "$work/verify-fresh.json")
[ "$failed" = "entries count" ] || fail "fresh voucher: unexpected failures: $failed"
say "fdo-reseller verify --hmac-secret: header HMAC and cert chain hash pass; only '$failed' fails (no owner yet)"

"$bin/fdo-owner" init --dir "$work/owner" >/dev/null 2>"$work/owner-init.log" \
  || { cat "$work/owner-init.log" >&2; fail "fdo-owner init"; }
"$bin/fdo-owner" pubkey --dir "$work/owner" -o "$work/owner.pub.pem" >/dev/null 2>&1 || fail "fdo-owner pubkey"
say "fdo-owner init + pubkey: the buyer's owner key, public half in $work/owner.pub.pem"

"$bin/fdo-reseller" keygen --key-type p256 -o "$work/reseller.key.pem" --pub "$work/reseller.pub.pem" >/dev/null 2>&1 \
  || fail "fdo-reseller keygen"
say "fdo-reseller keygen: the reseller's key $work/reseller.key.pem (0600)"
"$bin/fdo-reseller" extend "$work/device.voucher.pem" --owner-key "$work/mfg/manufacturer-p256.key.pem" \
  --next-owner "$work/reseller.pub.pem" -o "$work/reseller.voucher.pem" 2>/dev/null || fail "extend to reseller"
say "fdo-reseller extend: the manufacturer signs the voucher over to the reseller (entry 0): $work/reseller.voucher.pem"
"$bin/fdo-reseller" extend "$work/reseller.voucher.pem" --owner-key "$work/reseller.key.pem" \
  --next-owner "$work/owner.pub.pem" -o "$work/owned.voucher.pem" 2>/dev/null || fail "extend to owner"
say "fdo-reseller extend: the reseller signs it over to the owner (entry 1): $work/owned.voucher.pem"
"$bin/fdo-reseller" verify "$work/owned.voucher.pem" --hmac-secret "$secret" --json >"$work/verify-owned.json" \
  2>/dev/null || { cat "$work/verify-owned.json"; fail "extended voucher does not verify"; }
checks=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["checks"]))' "$work/verify-owned.json")
say "fdo-reseller verify: valid, all $checks checks pass (header HMAC, cert chain hash, 2 signatures and hash links)"

"$bin/fdo-owner" vouchers import --dir "$work/owner" "$work/owned.voucher.pem" >"$work/import.log" 2>&1 \
  || { cat "$work/import.log" >&2; fail "fdo-owner vouchers import"; }
say "fdo-owner vouchers import: the owner verified the voucher ends in its key and stored it ($work/owner/owner.db)"

# The owner's plan: what ServiceInfo installs into the device (docs/owner.md "Plans", docs/service-info.md).
mkdir -p "$work/plan"
cat >"$work/plan/setup.sh" <<'SH'
echo "configured by the owner on $(date -u +%Y-%m-%dT%H:%M:%SZ)" > etc/motd
echo "setup.sh ran in $(pwd)"
SH
echo "server=https://mgmt.example" >"$work/plan/agent.conf"
cat >"$work/plan/plan.toml" <<'TOML'
modules = ["TPM-Attest", "fdo.download", "fdo_sys", "Password-Manager", "AsymKey"]
[params."TPM-Attest"]
pcrs = ["0", "7"]
[params."fdo.download"]
file = "agent.conf"
name = "etc/agent.conf"
[params.fdo_sys]
files = ["setup.sh"]
exec = ["sh", "setup.sh"]
[params.Password-Manager]
user = "operator"
password = "demo-Passw0rd"
disable = ["root"]
[params.AsymKey]
slot = "0"
subject = "CN=demo-sensor"
TOML
start_server owner "$bin/fdo-owner" serve --dir "$work/owner" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --wait-seconds 300 --plan "$work/plan/plan.toml" --platform-listen 127.0.0.1:0 "${trace_owner[@]}"
to2_url=$url
platform_url=""
for _ in $(seq 1 100); do
  platform_url=$(grep -o 'platform listening on https://[^ ]*' "$work/owner.log" | sed 's/platform listening on //') || true
  [ -n "$platform_url" ] && break
  sleep 0.1
done
[ -n "$platform_url" ] || fail "the owner's platform endpoint did not start (log: $work/owner.log)"
say "fdo-owner serve: owner service (TO2) listening on $to2_url with plan $work/plan/plan.toml; it registers its devices with their rendezvous servers; its platform endpoint (mutual TLS) at $platform_url"
await_registered "$guid" "$work/device-status.json"
say "automatic TO0 (20-23): the owner registered $to2_url for the device at $rv_url (fdo-owner devices show)"

"$bin/fdo-device" to1 --credential "$work/device.cred" --json "${trace_file[@]}" >"$work/to1.json" 2>"$work/to1.log" \
  || { cat "$work/to1.log" >&2; fail "fdo-device to1"; }
urls=$(json "$work/to1.json" to2_urls) || fail "fdo-device to1 --json: no to2_urls"
grep -q "$to2_url" "$work/to1.json" || fail "the device did not receive the owner's address"
say "fdo-device to1: the device proved itself to the rendezvous server (TO1 30-33); its owner waits at $urls"

mkdir -p "$work/device-root/etc"
printf 'root:$6$demo$oldhash:19000:0:99999:7:::\noperator:*:19000:0:99999:7:::\n' >"$work/device-root/etc/shadow"
"$bin/fdo-device" onboard --credential "$work/device.cred" --root "$work/device-root" "${trace_file[@]}" \
  --shadow-file "$work/device-root/etc/shadow" --json >"$work/onboard.json" 2>"$work/onboard.log" \
  || { cat "$work/onboard.log" >&2; fail "fdo-device onboard"; }
sed 's/^/      /' "$work/onboard.log"
new_guid=$(json "$work/onboard.json" new_guid) || fail "fdo-device onboard --json: no new_guid"
suites="$(json "$work/onboard.json" kex) + $(json "$work/onboard.json" cipher)"
say "fdo-device onboard: TO1 then TO2 (60-71) over $suites; the owner proved the voucher, devmod went through the tunnel, new GUID $new_guid"

"$bin/fdo-owner" devices show "$guid" --dir "$work/owner" --json >"$work/device-status.json" 2>/dev/null \
  || fail "fdo-owner devices show"
[ "$(json "$work/device-status.json" device.state)" = onboarded ] || fail "the owner does not show the device as onboarded"
say "fdo-owner devices show: $(json "$work/device-status.json" device.state), new GUID $(json "$work/device-status.json" device.new_guid); the owner keeps the replacement voucher to onboard it again"
python3 - "$work/device-status.json" <<'PY'
import json, sys
for line in json.load(open(sys.argv[1]))["device"]["modules"]:
    print("      owner's record: " + line)
PY
root_dir="$work/device-root"
[ -f "$root_dir/etc/motd" ] && [ -f "$root_dir/etc/agent.conf" ] && [ -f "$root_dir/asymkey/0/cert.pem" ] \
  || fail "the device root lacks what the owner installed"
grep -q '^operator:\$6\$' "$root_dir/etc/shadow" && grep -q '^root:!' "$root_dir/etc/shadow" \
  || fail "Password-Manager did not set the operator password and lock root"
openssl verify -CAfile "$work/owner/device-app-ca.cert.pem" "$root_dir/asymkey/0/cert.pem" >/dev/null 2>&1 \
  || fail "the AsymKey certificate does not verify under the owner's device-application CA"
say "what the owner installed under $root_dir: etc/agent.conf (fdo.download), etc/motd (fdo_sys ran setup.sh), an operator password with root locked in etc/shadow (Password-Manager), a device key with a certificate from the owner's CA in asymkey/0 (AsymKey)"

echo
echo "== A second device whose credential lives in a TPM 2.0 (swtpm, the simulator, on loopback; docs/tpm-credentials.md)"
# Two consecutive free loopback ports: the TPM's command port and its control port (the swtpm TCTI uses P and P + 1).
tpm_port=$(python3 - <<'PY'
import random, socket
for _ in range(50):
    p = random.randint(20000, 59000)
    try:
        for port in (p, p + 1):
            s = socket.socket(); s.bind(("127.0.0.1", port)); s.close()
        print(p); break
    except OSError:
        pass
PY
)
[ -n "$tpm_port" ] || fail "no free port pair for swtpm"
mkdir -p "$work/tpm-state"
swtpm socket --tpm2 --server "type=tcp,port=$tpm_port,bindaddr=127.0.0.1" \
  --ctrl "type=tcp,port=$((tpm_port + 1)),bindaddr=127.0.0.1" --flags not-need-init,startup-clear \
  --tpmstate "dir=$work/tpm-state" >"$work/swtpm.log" 2>&1 &
pids+=($!)
tcti="swtpm:host=127.0.0.1,port=$tpm_port"
for _ in $(seq 1 50); do
  "$bin/fdo-tpm-provisioner" show --tcti "$tcti" --json >/dev/null 2>&1 && break
  sleep 0.1
done
say "swtpm: a factory-new TPM at $tcti (state in $work/tpm-state)"
"$bin/fdo-tpm-provisioner" provision --tcti "$tcti" >"$work/tpm-provision.log" 2>&1 \
  || { cat "$work/tpm-provision.log" >&2; fail "fdo-tpm-provisioner provision"; }
say "fdo-tpm-provisioner provision: device key (0x81020002) and HMAC key (0x81020003) made inside the TPM, never to leave it; DCActive and DCTPM in NV, before the device exists"
"$bin/fdo-device" di --url "$mfg_url" --tpm "$tcti" --serial DEMO-TPM-0002 --model demo-sensor "${trace_tpm[@]}" \
  >/dev/null \
  2>"$work/tpm-di.log" || { cat "$work/tpm-di.log" >&2; fail "fdo-device di --tpm"; }
"$bin/fdo-device" show --tpm "$tcti" --json >"$work/tpm-device.json" 2>/dev/null || fail "fdo-device show --tpm"
tpm_guid=$(json "$work/tpm-device.json" guid) || fail "fdo-device show --tpm --json: no guid"
say "fdo-device di --tpm: DI signed the CSR and MACed the voucher header inside the TPM; GUID $tpm_guid, credential in TPM NV (no file)"
"$bin/fdo-manufacturer" vouchers export --dir "$work/mfg" "$tpm_guid" -o "$work/tpm.voucher.pem" 2>/dev/null \
  || fail "voucher export (TPM device)"
"$bin/fdo-reseller" extend "$work/tpm.voucher.pem" --owner-key "$work/mfg/manufacturer-p256.key.pem" \
  --next-owner "$work/reseller.pub.pem" -o "$work/tpm-reseller.voucher.pem" 2>/dev/null || fail "extend (TPM device)"
"$bin/fdo-reseller" extend "$work/tpm-reseller.voucher.pem" --owner-key "$work/reseller.key.pem" \
  --next-owner "$work/owner.pub.pem" -o "$work/tpm-owned.voucher.pem" 2>/dev/null || fail "extend (TPM device)"
"$bin/fdo-owner" vouchers import --dir "$work/owner" "$work/tpm-owned.voucher.pem" >/dev/null 2>&1 \
  || fail "fdo-owner vouchers import (TPM device)"
say "its voucher: exported, extended to the reseller and on to the owner, imported into the running owner"
await_registered "$tpm_guid" "$work/tpm-status.json"
mkdir -p "$work/tpm-root/etc"
printf 'root:$6$demo$oldhash:19000:0:99999:7:::\noperator:*:19000:0:99999:7:::\n' >"$work/tpm-root/etc/shadow"
"$bin/fdo-device" onboard --tpm "$tcti" --root "$work/tpm-root" --shadow-file "$work/tpm-root/etc/shadow" --json \
  "${trace_tpm[@]}" \
  >"$work/tpm-onboard.json" 2>"$work/tpm-onboard.log" || { cat "$work/tpm-onboard.log" >&2; fail "fdo-device onboard --tpm"; }
sed 's/^/      /' "$work/tpm-onboard.log"
tpm_new_guid=$(json "$work/tpm-onboard.json" new_guid) || fail "fdo-device onboard --tpm --json: no new_guid"
"$bin/fdo-device" show --tpm "$tcti" --json >"$work/tpm-device-after.json" 2>/dev/null || fail "fdo-device show --tpm"
[ "$(json "$work/tpm-device-after.json" guid)" = "$tpm_new_guid" ] || fail "the TPM does not hold the new credential"
say "fdo-device onboard --tpm: TO1 and TO2 with every signature and HMAC in the TPM; the new credential (GUID $tpm_new_guid) and a renewed HMAC key were committed into the TPM through its journal"
"$bin/fdo-owner" devices show "$tpm_guid" --dir "$work/owner" --json >"$work/tpm-status.json" 2>/dev/null \
  || fail "fdo-owner devices show (TPM device)"
python3 - "$work/tpm-status.json" <<'PY'
import json, sys
for line in json.load(open(sys.argv[1]))["device"]["modules"]:
    print("      owner's record: " + line)
PY
grep -q '^tpm-persistent-handle: 0x810201' "$work/tpm-root/asymkey/0/key.tpm" && [ ! -e "$work/tpm-root/asymkey/0/key.pem" ] \
  || fail "AsymKey's key is not in the TPM"
openssl verify -CAfile "$work/owner/device-app-ca.cert.pem" "$work/tpm-root/asymkey/0/cert.pem" >/dev/null 2>&1 \
  || fail "the TPM device's AsymKey certificate does not verify under the owner's CA"
say "what the owner got: a TPM quote of PCRs 0 and 7 it verified (TPM-Attest: $(cut -d: -f1 "$work/tpm-root/var/lib/fdo/attestation")), and an AsymKey certificate for a key made in the TPM ($(head -n1 "$work/tpm-root/asymkey/0/key.tpm"); no private key file)"


# What onboarding is for: the device talks to its owner's platform with the certificate it was given, over mutual
# TLS, and the platform takes the reading only because that certificate chains to the owner's CA (docs/owner.md
# "Platform endpoint").
"$bin/fdo-device" report --root "$work/tpm-root" --tpm "$tcti" --url "$platform_url" \
  --reading '{"sensor":"demo-sensor","temperature_c":21.5}' >"$work/report.log" 2>&1 \
  || { cat "$work/report.log" "$work/owner.log" >&2; fail "fdo-device report"; }
python3 - "$work/owner/platform/readings.jsonl" <<'PY' || fail "the platform has no record of the reading"
import json, sys
line = json.loads(open(sys.argv[1]).readline())
assert json.loads(line["reading"])["temperature_c"] == 21.5
print("      platform's record: " + line["subject"] + ", certificate sha256 " + line["certificate_sha256"][:16] +
      "…, issued by " + line["issuer"].split(",")[0] + ": " + line["reading"])
PY
say "fdo-device report: the TPM device opened mutual TLS to $platform_url with its AsymKey certificate (the handshake signed inside the TPM) and posted its first reading; the platform accepted it because the certificate chains to the owner's device-application CA"
"$bin/fdo-device" report --root "$work/device-root" --url "$platform_url" >"$work/report-file-device.log" 2>&1 \
  || { cat "$work/report-file-device.log" >&2; fail "fdo-device report (file device)"; }
say "fdo-device report: the file-backed device reported too (its key in device-root/asymkey/0/key.pem, 0600)"
echo
echo "The demo's files are in $work (servers' logs: $work/*.log). To try next:"
# The paths below, quoted for the shell, so that each line can be pasted as it is.
q_bin=$(printf %q "$bin") q_work=$(printf %q "$work") q_trace=$(printf %q "$trace") q_self=$(printf %q "$0")
[ -n "$trace" ] && echo "  ls $q_trace/file-device $q_trace/tpm-device $q_trace/owner-to0     # every protocol message, in order"
echo "  $q_bin/fdo-reseller show $q_work/owned.voucher.pem"
echo "  $q_bin/fdo-reseller verify $q_work/owned.voucher.pem"
echo "  $q_bin/fdo-device show --credential $q_work/device.cred"
echo "  swtpm socket --tpm2 --server type=tcp,port=$tpm_port,bindaddr=127.0.0.1 --ctrl type=tcp,port=$((tpm_port + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear --tpmstate dir=$q_work/tpm-state &"
echo "  $q_bin/fdo-tpm-provisioner show --tcti $tcti     # the TPM's FDO state, public parts only"
echo "  $q_bin/fdo-manufacturer vouchers list --dir $q_work/mfg"
echo "  $q_bin/fdo-owner devices list --dir $q_work/owner"
echo "  $q_bin/fdo-owner vouchers list --dir $q_work/owner"
echo "  cat $q_work/device-root/etc/motd; openssl x509 -in $q_work/device-root/asymkey/0/cert.pem -noout -subject -issuer"
echo "  cat $q_work/owner/platform/readings.jsonl     # the platform's record of each reading"
if [ "$work" = "$root/build/demo" ]; then
  echo "  $q_self --clean     # removes $q_work"
else
  echo "  $q_self --clean --dir $q_work     # removes it"
fi
echo
echo "demo finished: every step passed (DI, TO0, TO1, TO2, with the credential in a file and in a TPM): the TPM-backed device onboarded and reported to the platform."
