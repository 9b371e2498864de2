#!/usr/bin/env bash
# package_deb (ctest, label `package`): the Debian packages of BUILD_DIR as an operator meets them (docs/deploy.md).
#   1. CPack builds every package; dpkg-deb shows each one's name, version, Depends, maintainer scripts and files.
#   2. systemd-analyze verify passes on the units, with the binaries they name from the unpacked packages.
#   3. dpkg -x unpacks them all into a scratch root; a project outside the tree builds against its libfdo-dev.
#   4. Each server starts from the scratch root exactly as its unit starts it (ExecStartPre, ExecStart, the installed
#      /etc/fdo config), only the state directory and ports moved to temporary ones; it reports READY=1 through
#      NOTIFY_SOCKET, answers (rendezvous: a TO1.HelloRV sent by that outside project; manufacturer: the admin API
#      with the token passed as a systemd credential), and stops on SIGTERM with STOPPING=1 and exit 0.
# usage: packaging/package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/fdo-package-test.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  exit 1
}
step() { echo "== $*"; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)
servers=(manufacturer rendezvous owner)
tools=(device reseller tpm-provisioner)

step "cpack (version $version, $arch)"
if ! cpack --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log"
  fail "cpack"
fi
mapfile -t debs < <(cd "$work/out" && ls -- *.deb)
printf '   %s\n' "${debs[@]}"

# field DEB NAME: one control field of a package.
field() { dpkg-deb -f "$1" "$2"; }
# depends_on DEB PKG...: each PKG is named in Depends.
depends_on() {
  local deb=$1 depends names
  shift
  depends=$(field "$deb" Depends)
  names=$(tr ',' '\n' <<<"$depends" | sed -e 's/^ *//' -e 's/ .*//')
  for p in "$@"; do
    grep -qxF "$p" <<<"$names" || fail "$(basename "$deb"): Depends lacks $p: $depends"
  done
}
# has_files DEB PATH...: each PATH (a shell pattern) is in the package.
has_files() {
  local deb=$1 list
  shift
  list=$(dpkg-deb -c "$deb" | awk '{print $6}')
  for f in "$@"; do
    # shellcheck disable=SC2053
    grep -q -- "^$f\$" <<<"$list" || fail "$(basename "$deb") has no $f"
  done
}

step "contents and dependencies (dpkg-deb)"
# The libraries every executable links (OpenSSL in crypto/, libcbor in cbor/), as Debian 12 packages
# (dpkg-shlibdeps); the servers also SQLite, cpp-httplib and libsystemd (below).
runtime=(libc6 libstdc++6 libssl3 libcbor0.8)
for role in "${servers[@]}" "${tools[@]}"; do
  deb=$work/out/fdo-${role}_${version}_${arch}.deb
  [ -f "$deb" ] || fail "no fdo-${role}_${version}_${arch}.deb"
  [ "$(field "$deb" Package)" = "fdo-$role" ] || fail "$deb: Package $(field "$deb" Package)"
  [ "$(field "$deb" Version)" = "$version" ] || fail "$deb: Version $(field "$deb" Version)"
  has_files "$deb" ./usr/bin/fdo-$role
  depends_on "$deb" "${runtime[@]}"
  echo "   fdo-$role: $(field "$deb" Depends)"
done
for role in "${servers[@]}"; do
  deb=$work/out/fdo-${role}_${version}_${arch}.deb
  has_files "$deb" ./usr/lib/systemd/system/fdo-$role.service ./etc/fdo/$role.toml ./usr/share/doc/fdo-$role/deploy.md
  depends_on "$deb" adduser libsqlite3-0 libcpp-httplib0.11 libsystemd0
  dpkg-deb -I "$deb" conffiles | grep -qx "/etc/fdo/$role.toml" || fail "fdo-$role: /etc/fdo/$role.toml is no conffile"
  dpkg-deb -I "$deb" postinst | grep -q "adduser --quiet --system --group .* fdo-$role$" ||
    fail "fdo-$role: postinst makes no system user"
  for script in postinst prerm postrm; do
    dpkg-deb -I "$deb" $script >"$work/$script"
    sh -n "$work/$script" || fail "fdo-$role $script: syntax"
  done
done
# The device tools have no unit and no config.
if dpkg-deb -c "$work/out/fdo-device_${version}_${arch}.deb" | grep -q 'etc/\|systemd'; then
  fail "fdo-device ships a config or a unit"
fi
dev=$work/out/libfdo-dev_${version}_${arch}.deb
[ -f "$dev" ] || fail "no libfdo-dev_${version}_${arch}.deb"
has_files "$dev" ./usr/include/libfdo/core/bytes.h ./usr/include/libfdo/protocol/dispatcher.h \
  "./usr/lib/[a-z0-9_-]*/libfdo_core.a" "./usr/lib/[a-z0-9_-]*/libfdo_protocol.a" \
  "./usr/lib/[a-z0-9_-]*/cmake/fdo/fdoConfig.cmake" "./usr/lib/[a-z0-9_-]*/cmake/fdo/fdoTargets.cmake"
if dpkg-deb -c "$dev" | awk '{print $6}' | grep -E '/internal/|_test|fuzz|\.cpp$'; then
  fail "libfdo-dev ships internal headers, tests or sources"
fi
depends_on "$dev" libssl-dev libcbor-dev libsqlite3-dev libpq-dev libcpp-httplib-dev libcrypt-dev libtss2-dev pkg-config
echo "   libfdo-dev: $(field "$dev" Depends)"

step "dpkg -x into a scratch root"
root=$work/root
for deb in "${debs[@]}"; do
  dpkg -x "$work/out/$deb" "$root"
done
# Every libfdo header that an installed header includes is installed too.
missing=$(cd "$root/usr/include" && grep -rhoE '#include "libfdo/[^"]+"' . | sed -e 's/#include "//' -e 's/"$//' |
  sort -u | while read -r h; do [ -f "$h" ] || echo "$h"; done)
[ -z "$missing" ] || fail "libfdo-dev: installed headers include headers it does not ship: $missing"
for role in "${servers[@]}" "${tools[@]}"; do
  "$root/usr/bin/fdo-$role" --version | grep -qx "fdo-$role $version" || fail "installed fdo-$role --version"
done

# Each default config names every option of `serve` (set, or commented with its default) but --dir, which the unit
# passes; a new option shows up here until its line is added.
for role in "${servers[@]}"; do
  options=$("$root/usr/bin/fdo-$role" serve --help | grep -oE '^ +--[a-z0-9-]+' | sed 's/^ *--//' |
    grep -vx -e help -e config -e dir | sort -u)
  keys=$(grep -oE '^(# )?[a-z0-9_]+ =' "$root/etc/fdo/$role.toml" | sed -e 's/^# //' -e 's/ =$//' | tr _ - | sort -u)
  [ "$options" = "$keys" ] ||
    fail "/etc/fdo/$role.toml and \`fdo-$role serve --help\` differ: $(diff <(echo "$keys") <(echo "$options") | grep '^[<>]')"
done

step "systemd-analyze verify"
# The units of the host's systemd (sysinit.target, network-online.target, ...) beside ours, as on a Debian system.
cp -a --no-clobber /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
units=()
for role in "${servers[@]}"; do
  units+=("$root/usr/lib/systemd/system/fdo-$role.service")
done
if ! systemd-analyze verify --root="$root" --man=no "${units[@]}" >"$work/verify.log" 2>&1 ||
  grep -q . "$work/verify.log"; then
  cat "$work/verify.log"
  fail "systemd-analyze verify"
fi
echo "   ${#units[@]} units verified"
# The sandbox scores at most 2.5 of systemd's 10 (OK or better; `systemd-analyze security`).
for role in "${servers[@]}"; do
  if ! systemd-analyze security --offline=yes --root="$root" --threshold=25 "fdo-$role.service" \
    >"$work/security.log" 2>&1; then
    cat "$work/security.log"
    fail "fdo-$role.service: exposure above 2.5"
  fi
  echo "   $(grep -o 'Overall exposure level for .*' "$work/security.log")"
done

step "a project outside the tree builds against libfdo-dev (find_package(fdo))"
if ! { cmake -S "$src/packaging/consumer" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$root/usr" && ninja -C "$work/consumer"; } >"$work/consumer.log" 2>&1; then
  cat "$work/consumer.log"
  fail "the consumer project does not build against the installed libfdo-dev"
fi

# unit_command ROLE KEY: the unit's ExecStartPre= or ExecStart= line, turned to the scratch root: binaries and
# /etc/fdo from $root, the state directory in $work/state/ROLE. Empty when the unit has no such line.
unit_command() {
  sed -n "s/^$2=//p" "$root/usr/lib/systemd/system/fdo-$1.service" |
    sed -e "s|/usr/bin/|$root/usr/bin/|g" -e "s|/etc/fdo/|$root/etc/fdo/|g" -e "s|/var/lib/fdo-$1|$work/state/$1|g"
}

# start ROLE EXTRA...: runs the unit's commands for ROLE (plus EXTRA options on serve) with NOTIFY_SOCKET, waits
# for READY=1. Sets server_pid, and url/admin_url from what the server printed.
start() {
  local role=$1 pre cmd
  shift
  mkdir -p "$work/state/$role"
  chmod 0700 "$work/state/$role"  # StateDirectoryMode=0700
  pre=$(unit_command "$role" ExecStartPre)
  if [ -n "$pre" ]; then
    # shellcheck disable=SC2086
    $pre >"$work/$role.init" 2>&1 || { cat "$work/$role.init"; fail "fdo-$role: ExecStartPre"; }
  fi
  cmd=$(unit_command "$role" ExecStart)
  [ -n "$cmd" ] || fail "fdo-$role.service has no ExecStart"
  "$src/packaging/notify_listen.py" "$work/$role.sock" "$work/$role.notify" &
  pids+=($!)
  notify_pid=$!
  for _ in $(seq 50); do
    [ -S "$work/$role.sock" ] && break
    sleep 0.1
  done
  # shellcheck disable=SC2086
  NOTIFY_SOCKET=$work/$role.sock $cmd "$@" >"$work/$role.out" 2>"$work/$role.err" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 200); do
    grep -qx READY=1 "$work/$role.notify" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/$role.err"; fail "fdo-$role exited before READY=1"; }
    sleep 0.1
  done
  grep -qx READY=1 "$work/$role.notify" || { cat "$work/$role.err"; fail "fdo-$role sent no READY=1"; }
  url=$(sed -n 's/^STATUS=listening on //p' "$work/$role.notify")
  grep -qx "listening on $url" "$work/$role.out" || fail "fdo-$role: STATUS=$url is not what it printed"
  admin_url=$(sed -n 's/^admin listening on //p' "$work/$role.out")
  echo "   fdo-$role ready (READY=1) on $url"
}

# stop ROLE: SIGTERM, exit 0, STOPPING=1.
stop() {
  local role=$1 status=0
  kill -TERM "$server_pid"
  wait "$server_pid" || status=$?
  [ "$status" = 0 ] || { cat "$work/$1.err"; fail "fdo-$role exited $status on SIGTERM"; }
  wait "$notify_pid" || true
  grep -qx STOPPING=1 "$work/$role.notify" || fail "fdo-$role sent no STOPPING=1"
  grep -q "password\|BEGIN PRIVATE KEY" "$work/$role.err" && fail "fdo-$role logged a secret"
  echo "   fdo-$role stopped (STOPPING=1, exit 0)"
}

step "fdo-rendezvous from the scratch root, as its unit starts it"
start rendezvous --listen 127.0.0.1:0
"$work/consumer/fdo-consumer" "$url" >"$work/to1.out" || { cat "$work/to1.out" "$work/rendezvous.err"; fail "TO1"; }
grep -q "ErrorMessage 6 " "$work/to1.out" || fail "TO1.HelloRV: $(cat "$work/to1.out")"
echo "   $(cat "$work/to1.out")"
[ -f "$work/state/rendezvous/rendezvous.db" ] || fail "fdo-rendezvous keeps no database in its state directory"
stop rendezvous

step "fdo-manufacturer: init on first start, the admin token as a systemd credential"
mkdir -p "$work/credentials"
echo "token-from-a-systemd-credential" >"$work/credentials/admin-token"
CREDENTIALS_DIRECTORY=$work/credentials start manufacturer --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
[ -f "$work/state/manufacturer/admin-token" ] || fail "ExecStartPre made no DIR/admin-token"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer token-from-a-systemd-credential" \
  "$admin_url/admin/vouchers")
[ "$code" = 200 ] || fail "admin API with the credential's token: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$work/state/manufacturer/admin-token")" \
  "$admin_url/admin/vouchers")
[ "$code" = 401 ] || fail "admin API with DIR/admin-token while a credential is set: HTTP $code"
echo "   admin API takes the credential's token (200) and not DIR/admin-token (401)"
stop manufacturer

step "fdo-owner: init on first start"
start owner --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$work/state/owner/admin-token")" \
  "$admin_url/api/v1/devices")
[ "$code" = 200 ] || fail "owner admin API: HTTP $code"
stop owner
echo "package test passed"
