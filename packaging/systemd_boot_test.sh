#!/usr/bin/env bash
# package_systemd_boot (ctest, label `package`): the packages under a real systemd, as docs/deploy.md uses them.
# A throwaway Debian 12 system is booted with systemd-nspawn on an overlay of this machine's root (writes go to a
# tmpfs; the host's enabled services are left out; private network, so it reaches nothing but its own loopback).
# In it: apt install the three server packages and the device tools, systemctl enable --now each server (Type=notify,
# the full sandbox, ExecStartPre init), a device through DI, TO0, TO1 and TO2 against them, /health, /ready,
# /metrics and the admin APIs as docs/deploy.md shows them, the owner's admin token as a systemd credential
# (LoadCredential=), an upgrade (try-restart, the changed conffile kept), then remove and purge. Exits 77 (skipped)
# where no container can be booted: not root, no systemd-nspawn, no overlay mount.
# usage: packaging/systemd_boot_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
skip() {
  echo "SKIPPED: $*"
  exit 77
}
fail() {
  echo "FAILED: $*" >&2
  if [ -n "${leader:-}" ]; then
    nsenter -t "$leader" -a journalctl --no-pager -n 60 -u 'fdo-*' >&2 || true
  fi
  exit 1
}
[ "$(id -u)" = 0 ] || skip "needs root (mounts and systemd-nspawn)"
command -v systemd-nspawn >/dev/null || skip "no systemd-nspawn (Debian package systemd-container)"

work=$(mktemp -d /tmp/fdo-boot-test.XXXXXX)
ov=$work/ov
merged=$ov/merged
nspawn_pid=
leader=
cleanup() {
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill -TERM "$nspawn_pid" 2>/dev/null || true  # the container shuts down like a system does
    for _ in $(seq 30); do
      kill -0 "$nspawn_pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "$nspawn_pid" 2>/dev/null || true
    wait "$nspawn_pid" 2>/dev/null || true
  fi
  if mountpoint -q "$merged"; then umount "$merged" || umount -l "$merged" || true; fi
  if mountpoint -q "$ov"; then umount "$ov" || umount -l "$ov" || true; fi
  # Never through a mount: --one-file-system, and only once nothing is mounted there any more.
  if ! mountpoint -q "$merged" 2>/dev/null && ! mountpoint -q "$ov" 2>/dev/null; then
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
step() { echo "== $*"; }

step "cpack: the packages, and fdo-rendezvous once more as a later version (for the upgrade)"
cpack --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail cpack; }
cpack --config "$build/CPackConfig.cmake" -D CPACK_PACKAGE_VERSION="$version.1" -D CPACK_COMPONENTS_ALL=rendezvous \
  -B "$work/up" >>"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack (upgrade)"; }

step "boot a throwaway system (systemd-nspawn on an overlay of /)"
mkdir -p "$ov"
mount -t tmpfs -o size=2G tmpfs "$ov" || skip "cannot mount a tmpfs"
mkdir -p "$ov/upper" "$ov/work" "$merged"
mount -t overlay overlay -o "lowerdir=/,upperdir=$ov/upper,workdir=$ov/work" "$merged" || skip "cannot mount an overlay"
mountpoint -q "$merged" || fail "the overlay is not mounted"
# Only what systemd itself needs: the host's enabled services (databases, daemons) stay out of the container.
# These deletions are whiteouts in the tmpfs upper layer; the host's files are untouched.
for wants in "$merged"/etc/systemd/system/*.wants "$merged"/etc/systemd/system/*.requires; do
  [ -e "$wants" ] && rm -rf "$wants"
done
mkdir -p "$merged/root/fdo-debs" "$merged/root/fdo-up"
cp "$work/out"/*.deb "$merged/root/fdo-debs/"
cp "$work/up"/*.deb "$merged/root/fdo-up/"
systemd-nspawn -D "$merged" -b -M "fdo-boot-$$" --register=no --keep-unit --link-journal=no --private-network \
  --quiet >"$work/nspawn.log" 2>&1 &
nspawn_pid=$!
for _ in $(seq 100); do
  leader=$(pgrep -P "$nspawn_pid" -x systemd || true)
  [ -n "$leader" ] && break
  kill -0 "$nspawn_pid" 2>/dev/null || { cat "$work/nspawn.log"; skip "systemd-nspawn cannot boot a container here"; }
  sleep 0.1
done
[ -n "$leader" ] || { cat "$work/nspawn.log"; skip "no systemd in the container"; }
ct() { nsenter -t "$leader" -a "$@"; }
# Until the container's manager answers (its socket appears a moment after PID 1) and has finished booting.
state=
for _ in $(seq 300); do
  state=$(ct systemctl is-system-running 2>/dev/null || true)
  case "$state" in
    running | degraded) break ;;
  esac
  sleep 0.1
done
case "$state" in
  running | degraded) echo "   systemd is $state" ;;
  *) cat "$work/nspawn.log"; fail "the container's systemd is '$state'" ;;
esac

step "apt install the packages; nothing starts yet"
ct sh -c 'cd /root/fdo-debs && apt-get install -y -q ./fdo-rendezvous_*.deb ./fdo-manufacturer_*.deb ./fdo-owner_*.deb \
  ./fdo-device_*.deb ./fdo-reseller_*.deb' >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt install"; }
for role in rendezvous manufacturer owner; do
  ct getent passwd "fdo-$role" | grep -q ":/var/lib/fdo-$role:/usr/sbin/nologin$" || fail "no system user fdo-$role"
  [ "$(ct systemctl is-active "fdo-$role" || true)" = inactive ] || fail "fdo-$role started at install"
done

step "systemctl enable --now"
ct systemctl enable --now fdo-rendezvous fdo-manufacturer fdo-owner >"$work/enable.log" 2>&1 ||
  { cat "$work/enable.log"; fail "systemctl enable --now"; }
declare -A port=([rendezvous]=8041 [manufacturer]=8038 [owner]=8042)
for role in rendezvous manufacturer owner; do
  status=$(ct systemctl show -p StatusText --value "fdo-$role")
  [ "$status" = "listening on http://127.0.0.1:${port[$role]}" ] || fail "fdo-$role: status '$status'"
  [ "$(ct stat -c '%U %a' "/var/lib/fdo-$role")" = "fdo-$role 700" ] || fail "/var/lib/fdo-$role: owner or mode"
  [ "$(ct ps -o user= -p "$(ct systemctl show -p MainPID --value "fdo-$role")")" = "fdo-$role" ] ||
    fail "fdo-$role does not run as fdo-$role"
  echo "   fdo-$role: active, $status, as fdo-$role"
done
header=$(ct curl -s -o /dev/null -D - -X POST -H 'Content-Type: application/cbor' --data-binary '' \
  http://127.0.0.1:8041/fdo/101/msg/30 | tr -d '\r' | grep -i '^message-type' || true)
[ "$header" = "Message-Type: 255" ] || fail "the rendezvous server's answer to an empty HelloRV: '$header'"

step "a device through DI, TO0, TO1 and TO2 against the three services"
# shellcheck disable=SC2016  # expanded inside the container
ct bash -c 'set -e; mkdir -p /root/e2e && cd /root/e2e
  fdo-device di --url http://127.0.0.1:8038 --credential cred.bin
  guid=$(fdo-device show --credential cred.bin --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"guid\"])")
  fdo-manufacturer vouchers export --dir /var/lib/fdo-manufacturer "$guid" -o v.pem
  fdo-owner pubkey --dir /var/lib/fdo-owner -o owner.pub.pem
  fdo-reseller extend v.pem --owner-key /var/lib/fdo-manufacturer/manufacturer-p256.key.pem \
    --next-owner owner.pub.pem -o mine.pem
  curl -sf -H "Authorization: Bearer $(cat /var/lib/fdo-owner/admin-token)" --data-binary @mine.pem \
    http://127.0.0.1:8043/api/v1/vouchers
  for i in $(seq 40); do
    fdo-owner devices show "$guid" --dir /var/lib/fdo-owner --json | grep -q "\"state\": *\"registered\"" && break
    sleep 0.25
  done
  fdo-device onboard --credential cred.bin' >"$work/e2e.log" 2>&1 || { cat "$work/e2e.log"; fail "onboarding"; }
grep '^onboarded: new GUID' "$work/e2e.log" | sed 's/^/   /'

step "health checks, metrics and the admin APIs (docs/deploy.md \"Health checks and metrics\")"
# The commands of docs/deploy.md, run as written against the installed services.
# shellcheck disable=SC2016
ct bash -c 'set -e
  curl -s http://127.0.0.1:8038/health
  curl -s http://127.0.0.1:8038/ready
  TOKEN=$(cat /var/lib/fdo-manufacturer/admin-token)
  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8039/metrics | grep -m2 fdo_sessions_live
  curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8039/admin/vouchers?limit=10&after="
  curl -s -H "Authorization: Bearer $(cat /var/lib/fdo-rendezvous/admin-token)" http://127.0.0.1:8040/admin/trust
  curl -s -o /dev/null -w "%{http_code}\n" http://127.0.0.1:8040/admin/trust' >"$work/ops.log" 2>&1 ||
  { cat "$work/ops.log"; fail "health, metrics, admin API"; }
sed 's/^/   /' "$work/ops.log"
[ "$(sed -n 1p "$work/ops.log")" = ok ] || fail "GET /health: $(sed -n 1p "$work/ops.log")"
[ "$(sed -n 2p "$work/ops.log")" = ready ] || fail "GET /ready: $(sed -n 2p "$work/ops.log")"
grep -q '^# TYPE fdo_sessions_live gauge$' "$work/ops.log" || fail "GET /metrics"
grep -q '^{"format":1,"limit":10,"vouchers":\[{"guid":"[0-9a-f]\{32\}".*"next":null}$' "$work/ops.log" ||
  fail "GET /admin/vouchers?limit=10&after="
grep -q '^{"format":1,"open":true,"owner_keys":null,"manufacturer_keys":null,"check_device_chain":false}$' \
  "$work/ops.log" || fail "GET /admin/trust"
[ "$(tail -n 1 "$work/ops.log")" = 401 ] || fail "GET /admin/trust without the token: $(tail -n 1 "$work/ops.log")"

step "the owner's admin token as a systemd credential (LoadCredential=)"
# shellcheck disable=SC2016
ct bash -c 'set -e; install -d -m 0700 /etc/fdo/credentials
  echo credential-token-123 >/etc/fdo/credentials/owner-admin-token
  mkdir -p /etc/systemd/system/fdo-owner.service.d
  printf "[Service]\nLoadCredential=admin-token:/etc/fdo/credentials/owner-admin-token\n" \
    >/etc/systemd/system/fdo-owner.service.d/credentials.conf
  systemctl daemon-reload && systemctl restart fdo-owner' || fail "credential drop-in"
code=$(ct curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer credential-token-123" \
  http://127.0.0.1:8043/api/v1/devices)
[ "$code" = 200 ] || fail "admin API with the credential's token: $code"
ct journalctl --no-pager >"$work/journal.log"
grep -q "fdo-owner.*admin token from the systemd credential admin-token" "$work/journal.log" ||
  fail "fdo-owner did not log where its token came from"
if grep -q credential-token-123 "$work/journal.log"; then fail "the token reached the journal"; fi
echo "   200 with the credential's token; the token is not in the journal"

step "upgrade fdo-rendezvous: try-restart, the changed config kept"
ct sed -i 's/^listen = "127.0.0.1:8041"/listen = "127.0.0.1:8051"/' /etc/fdo/rendezvous.toml
ct systemctl restart fdo-rendezvous
before=$(ct systemctl show -p MainPID --value fdo-rendezvous)
ct sh -c 'cd /root/fdo-up && apt-get install -y -q ./fdo-rendezvous_*.deb' >"$work/upgrade.log" 2>&1 ||
  { cat "$work/upgrade.log"; fail "apt install (upgrade)"; }
after=$(ct systemctl show -p MainPID --value fdo-rendezvous)
[ "$(ct dpkg-query -W -f '${Version}' fdo-rendezvous)" = "$version.1" ] || fail "not upgraded"
[ "$before" != "$after" ] && [ "$after" != 0 ] || fail "the upgrade did not restart the server ($before, $after)"
[ "$(ct systemctl show -p StatusText --value fdo-rendezvous)" = "listening on http://127.0.0.1:8051" ] ||
  fail "the upgrade lost the changed config"
[ "$(ct systemctl is-enabled fdo-rendezvous)" = enabled ] || fail "the upgrade disabled the server"
echo "   $version -> $version.1: restarted (PID $before -> $after), still on 127.0.0.1:8051, still enabled"

step "remove and purge"
ct apt-get remove -y -q fdo-rendezvous >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "apt remove"; }
[ "$(ct systemctl is-active fdo-rendezvous || true)" = inactive ] || fail "remove left the server running"
ct test -f /var/lib/fdo-rendezvous/rendezvous.db || fail "remove deleted the state"
ct test -f /etc/fdo/rendezvous.toml || fail "remove deleted the config"
ct apt-get purge -y -q fdo-rendezvous >>"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "apt purge"; }
if ct test -e /etc/fdo/rendezvous.toml; then fail "purge kept the config"; fi
ct test -f /var/lib/fdo-rendezvous/rendezvous.db || fail "purge deleted the state"
echo "   remove: stopped, config and state kept; purge: config gone, state kept"

# The servers stop cleanly when the system shuts down (SIGTERM, exit 0).
ct systemctl stop fdo-manufacturer fdo-owner
for role in manufacturer owner; do
  [ "$(ct systemctl show -p ExecMainStatus --value "fdo-$role")" = 0 ] || fail "fdo-$role did not exit 0 on stop"
done
echo "systemd boot test passed"
