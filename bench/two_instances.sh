#!/usr/bin/env bash
# The figures of docs/performance.md "One instance and two, SQLite and PostgreSQL": fdo-loadgen di, to0, to1 and to2
# at concurrency 4 and 16 against one instance of each server and against two behind HAProxy (the config of
# docs/examples/two-instances/haproxy.cfg with this script's ports), on SQLite and on PostgreSQL. Every store is on
# tmpfs (/dev/shm), so the rows compare the CPU a run costs, not disks. Prints one JSON line per row on stdout (the
# loadgen's, with "store" and "instances" added), then a Markdown table.
#   bench/two_instances.sh [--bin build/bin] [--devices N]
# Needs postgresql-15 and haproxy (scripts/setup.sh); as root, PostgreSQL runs as the user fdo-pgtest.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/bin
N=400
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) B=$2; shift 2 ;;
    --devices) N=$2; shift 2 ;;
    *) echo "usage: $0 [--bin DIR] [--devices N]" >&2; exit 2 ;;
  esac
done
PGBIN=/usr/lib/postgresql/15/bin
D=$(mktemp -d /dev/shm/fdo-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_pg "$PGBIN/pg_ctl" -D "$D/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u fdo-pgtest -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
url() {
  for _ in $(seq 300); do grep -qs 'listening on' "$1" && break; sleep 0.1; done
  grep -o 'http://127.0.0.1:[0-9]*' "$1" | head -1 || { echo "no listening line in $1:" >&2; cat "$1" >&2; exit 1; }
}

# A throwaway PostgreSQL 15 cluster on tmpfs, password over TCP as in the tests.
mkdir "$D/pg" && echo fdo-bench-password >"$D/pw" && chmod 600 "$D/pw"
if [ "$(id -u)" -eq 0 ]; then chown fdo-pgtest "$D" "$D/pg"; cp "$D/pw" "$D/pgpw"; chown fdo-pgtest "$D/pgpw"; else cp "$D/pw" "$D/pgpw"; fi
as_pg "$PGBIN/initdb" -D "$D/pg" -U fdo --pwfile "$D/pgpw" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
  --locale=C -N >/dev/null
PGPORT=$(free_port)
as_pg "$PGBIN/pg_ctl" -D "$D/pg" -o "-p $PGPORT -k $D -c listen_addresses=127.0.0.1 -c max_connections=200" \
  -l "$D/pg.log" -w start >/dev/null
PGPID=$(head -1 "$D/pg/postmaster.pid")
pg_uri() { echo "postgresql://fdo@127.0.0.1:$PGPORT/$1?sslmode=disable"; }
createdb() { "$PGBIN/psql" -X -q -h "$D" -p "$PGPORT" -U fdo -d postgres -c "CREATE DATABASE $1"; }

$B/fdo-manufacturer init --dir "$D/mfg" >/dev/null
$B/fdo-owner init --dir "$D/owner" >/dev/null
$B/fdo-owner pubkey --dir "$D/owner" -o "$D/owner.pub.pem"

# start ROLE TOOL INSTANCES DB EXTRA...: the instances of one role; sets ${ROLE}_URL (the frontend or the one
# instance), ${ROLE}_PIDS and ${ROLE}_PORTS.
start() {
  local role=$1 tool=$2 n=$3 db=$4; shift 4
  local ports=() ids=()
  for i in $(seq 1 "$n"); do
    local log=$D/$role-$i.log
    local dbargs=(--db "$db")
    case "$db" in postgresql://*) dbargs+=(--db-password-file "$D/pw" --db-pool-size 16) ;; esac
    $B/$tool serve --dir "$D/$role" --listen 127.0.0.1:0 "${dbargs[@]}" --log-level error "$@" >"$log" 2>&1 &
    ids+=($!); pids+=($!)
    ports+=("$(url "$log" | sed 's/.*://')")
  done
  eval "${role}_PIDS=\"${ids[*]}\"; ${role}_PORTS=\"${ports[*]}\""
}

for store in sqlite postgresql; do
  for instances in 1 2; do
    tag=$store-$instances
    if [ "$store" = sqlite ]; then
      mfg_db=$D/$tag-mfg.db rv_db=$D/$tag-rv.db owner_db=$D/$tag-owner.db
    else
      for r in mfg rv owner; do createdb "b_${r}_${instances}"; done
      mfg_db=$(pg_uri b_mfg_$instances) rv_db=$(pg_uri b_rv_$instances) owner_db=$(pg_uri b_owner_$instances)
    fi
    hap=
    FRONT_MFG=$(free_port) FRONT_RV=$(free_port) FRONT_OWNER=$(free_port) STATS=$(free_port)
    start rv fdo-rendezvous "$instances" "$rv_db" --no-admin
    RV=http://127.0.0.1:$FRONT_RV
    [ "$instances" = 1 ] && RV=http://127.0.0.1:${rv_PORTS}
    start mfg fdo-manufacturer "$instances" "$mfg_db" --no-admin --rv "$RV" --first-owner "$D/owner.pub.pem"
    # Two owners register the frontend in TO0; one registers its own address (the loadgen's TO2 vouchers have a
    # device-only RendezvousInfo, so neither matters to the figures).
    to2=(); [ "$instances" = 2 ] && to2=(--to2-url "http://127.0.0.1:$FRONT_OWNER")
    start owner fdo-owner "$instances" "$owner_db" --admin-listen "" "${to2[@]}"
    if [ "$instances" = 1 ]; then
      MFG=http://127.0.0.1:$mfg_PORTS OWNER=http://127.0.0.1:$owner_PORTS
    else
      set -- $mfg_PORTS; m1=$1 m2=$2; set -- $rv_PORTS; r1=$1 r2=$2; set -- $owner_PORTS; o1=$1 o2=$2
      sed -e "s/127.0.0.1:8038\b/127.0.0.1:$FRONT_MFG/" -e "s/127.0.0.1:18038/127.0.0.1:$m1/" \
        -e "s/127.0.0.1:28038/127.0.0.1:$m2/" -e "s/127.0.0.1:8041\b/127.0.0.1:$FRONT_RV/" \
        -e "s/127.0.0.1:18041/127.0.0.1:$r1/" -e "s/127.0.0.1:28041/127.0.0.1:$r2/" \
        -e "s/127.0.0.1:8042\b/127.0.0.1:$FRONT_OWNER/" -e "s/127.0.0.1:18042/127.0.0.1:$o1/" \
        -e "s/127.0.0.1:28042/127.0.0.1:$o2/" -e "s/127.0.0.1:8404\b/127.0.0.1:$STATS/" \
        docs/examples/two-instances/haproxy.cfg >"$D/haproxy.cfg"
      /usr/sbin/haproxy -db -f "$D/haproxy.cfg" >"$D/haproxy.log" 2>&1 &
      hap=$!; pids+=($hap)
      MFG=http://127.0.0.1:$FRONT_MFG OWNER=http://127.0.0.1:$FRONT_OWNER
      until python3 - "http://127.0.0.1:$STATS/stats;csv" 2>/dev/null <<'PY'; do sleep 0.2; done
import sys, urllib.request
rows = [l.split(",") for l in urllib.request.urlopen(sys.argv[1]).read().decode().splitlines()[1:] if l]
sys.exit(sum(r[1] not in ("FRONTEND", "BACKEND") and r[17].startswith("UP") for r in rows) != 6)
PY
    fi
    pidargs() { for p in $1; do printf -- '--server-pid %s ' "$p"; done; }
    for c in 4 16; do
      common=(--devices "$N" --concurrency "$c" --json --http-floor-requests 0)
      for run in "di $MFG $(pidargs "$mfg_PIDS") --server-first-owner-key-type p256" \
                 "to0 $RV $(pidargs "$rv_PIDS")" "to1 $RV $(pidargs "$rv_PIDS")" \
                 "to2 $OWNER $(pidargs "$owner_PIDS") --owner-dir $D/owner --to0-wait 10 --preload-db $owner_db"; do
        set -- $run
        extra=()
        [ "$1" = to2 ] && [ "$store" = postgresql ] && extra=(--preload-db-password-file "$D/pw")
        [ "$store" = postgresql ] && extra+=(--db-pid "$PGPID")
        [ "$instances" = 2 ] && extra+=(--proxy-pid "$hap")
        line=$($B/fdo-loadgen "$1" --url "$2" "${@:3}" "${extra[@]}" "${common[@]}" 2>>"$D/loadgen.err" || true)
        echo "${line%\}},\"store\":\"$store\",\"instances\":$instances}" | tee -a "$D/rows.jsonl"
      done
    done
    for p in $mfg_PIDS $rv_PIDS $owner_PIDS $hap; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    pids=(); hap=
  done
done

python3 - "$D/rows.jsonl" <<'EOF'
import json, sys
print("\n| run | store | instances | C | runs/s | p50 ms | p99 ms | errors | CPU ms/run: servers + PostgreSQL + HAProxy (loadgen) | server public-key ms/run | server_efficiency |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{\"protocol\"")]
for r in sorted(rows, key=lambda r: (["di", "to0", "to1", "to2"].index(r["protocol"]), r["concurrency"], r["store"], r["instances"])):
    print(f"| {r['protocol'].upper()} | {r['store']} | {r['instances']} | {r['concurrency']} | {r['ops_per_s']:.0f} | {r['p50_ms']:.2f} | "
          f"{r['p99_ms']:.2f} | {r['errors']} | {r.get('server_cpu_ms_per_run', 0):.2f} + {r.get('db_cpu_ms_per_run', 0):.2f} + "
          f"{r.get('proxy_cpu_ms_per_run', 0):.2f} ({r['loadgen_cpu_ms_per_run']:.2f}) | "
          f"{r['server_pk_cpu_ms_per_run']:.3f} | {r.get('server_efficiency', 0):.3f} |")
EOF
