#!/usr/bin/env bash
# The table of docs/performance.md "The hot path, before and after": fdo-loadgen di, to0 and to1 at P-256 and
# P-384, with the store on disk and on tmpfs, at concurrency 1, 4 and 16. Every row gets a fresh server process
# and database, so rows do not share caches or a growing table. Prints one JSON line per row on stdout (the
# loadgen's, with "key" and "store" added), then a Markdown table. Take it on a quiet machine: nothing else
# should run (compare rows by CPU per run and server_efficiency; rates follow the load of the machine).
#   bench/hot_path.sh [--bin build/bin] [--devices N] [--disk DIR]
# N (default 800) is the number of runs at C = 4 and 16 with P-256; C = 1 and P-384 rows run a quarter of it.
# DIR (default /var/tmp) must be on a real disk: its rows measure fdatasync.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/bin
N=800
DISK=/var/tmp
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) B=$2; shift 2 ;;
    --devices) N=$2; shift 2 ;;
    --disk) DISK=$2; shift 2 ;;
    *) echo "usage: $0 [--bin DIR] [--devices N] [--disk DIR]" >&2; exit 2 ;;
  esac
done
W=$(mktemp -d "$DISK/fdo-hot-path-XXXXXX")
S=$(mktemp -d /dev/shm/fdo-hot-path-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W" "$S"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# url LOG [admin]: the URL of a server's "listening on" line (or of its "admin listening on" line).
url() {
  local lines
  for _ in $(seq 300); do
    lines=$(grep -s 'listening on' "$1" || true)
    if [ "${2:-}" = admin ]; then lines=$(grep 'admin listening on' <<<"$lines" || true); else lines=$(grep -v 'admin' <<<"$lines" || true); fi
    [ -n "$lines" ] && break
    sleep 0.05
  done
  grep -m1 -o 'http://127.0.0.1:[0-9]*' <<<"$lines" || { echo "no listening line in $1:" >&2; cat "$1" >&2; exit 1; }
}

# serve TOOL DIR DB EXTRA...: starts a server; sets PID, URL, ADMIN.
serve() {
  local tool=$1 dir=$2 db=$3; shift 3
  "$B/$tool" serve --dir "$dir" --db "$db" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --log-level warn "$@" \
    >"$dir.log" 2>&1 &
  PID=$!
  pids+=("$PID")
  URL=$(url "$dir.log")
  ADMIN=$(url "$dir.log" admin)
}

stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

rows=()
for key in p256 p384; do
  "$B/fdo-manufacturer" init --dir "$W/mfg-$key" --key-type "$key" --ca-key-type "$key" >/dev/null
  for store in disk tmpfs; do
    root=$W; [ "$store" = tmpfs ] && root=$S
    for c in 1 4 16; do
      n=$N
      [ "$c" = 1 ] && n=$((N / 4))
      [ "$key" = p384 ] && n=$((n / 4))
      for run in di to0 to1; do
        row=$run-$key-$store-$c
        if [ "$run" = di ]; then
          mkdir -p "$root/$row"
          cp -r "$W/mfg-$key/." "$root/$row/"
          serve fdo-manufacturer "$root/$row" "$root/$row/manufacturer.db" --rv http://127.0.0.1:8041
          args=(--key-type "$key" --server-ca-key-type "$key")
        else
          serve fdo-rendezvous "$root/$row" "$root/$row.db"
          args=(--key-type "$key")
        fi
        line=$("$B/fdo-loadgen" "$run" --url "$URL" --devices "$n" --concurrency "$c" "${args[@]}" --server-pid "$PID" \
          --server-metrics "$ADMIN" --server-admin-token "$root/$row/admin-token" --json)
        stop "$PID"
        line="{\"key\":\"$key\",\"store\":\"$store\",${line#\{}"
        echo "$line"
        rows+=("$line")
      done
    done
  done
done

table=$(cat <<'PY'
import json, sys
print()
print("| run | key | store | C | runs/s | p50 ms | server CPU ms/run | of it public-key ms | server_efficiency "
      "| commits/run | fdatasync/run | http_floor_us / ours |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for line in sys.stdin:
    r = json.loads(line)
    key = {"p256": "P-256", "p384": "P-384"}[r["key"]]
    rate = f"{r['ops_per_s']:,.0f}".replace(",", " ")
    print(f"| {r['protocol'].upper()} | {key} | {r['store']} | {r['concurrency']} | {rate} | {r['p50_ms']:.2f} "
          f"| {r['server_cpu_ms_per_run']:.3f} | {r['server_pk_cpu_ms_per_run']:.3f} | {r['server_efficiency']:.3f} "
          f"| {r['store_commits_per_run']:.2f} | {r['store_fdatasync_per_run']:.2f} "
          f"| {r['http_floor_us']:.0f} / {r['http_ours_us']:.0f} |")
PY
)
printf '%s\n' "${rows[@]}" | python3 -c "$table"
