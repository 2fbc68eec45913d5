#!/usr/bin/env bash
# Interleaved A/B of two ledgerflow binaries on the same chains, in one run: did a change
# make the exports slower? Each round runs every case with A, then with B (the order
# alternates between rounds), so drift in the machine hits both alike. Cases:
#   evm_all        export evm, every table, Parquet (anvil, the seeded workload)
#   evm_etl_csv    export evm, ethereum-etl's six tables as CSV
#   btc_rpc        export bitcoin over RPC, enriched, Parquet (litecoind regtest)
#   btc_rpc_json   export bitcoin over RPC, enriched bitcoin-etl JSON
#   btc_files      export bitcoin from the data directory, enriched, Parquet
#   stream_pg_lake stream evm --until-head from block 0 into PostgreSQL and the lake at
#                  once (two sinks behind the stream's Sink trait; a fresh database and
#                  lake each run)
# Prints, per case, the median wall seconds and CPU seconds (user + sys) of A and B and
# the ratio B/A, with the spread of each.
#
#   bench/ab.sh A_BIN B_BIN [EVM_BLOCKS EVM_TXS BTC_BLOCKS BTC_TXS]   (3000 19 1500 20)
#   ROUNDS=5 bench/ab.sh /tmp/base/ledgerflow target/release/ledgerflow
#   ONLY=evm or ONLY=btc runs one family; REUSE_CHAIN=1 keeps the chains of a previous run.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$(realpath "$1")
B=$(realpath "$2")
EVM_BLOCKS=${3:-3000}
EVM_TXS=${4:-19}
BTC_BLOCKS=${5:-1500}
BTC_TXS=${6:-20}
ROUNDS=${ROUNDS:-5}
ONLY=${ONLY:-all}
EVM_PORT=${EVM_PORT:-18755}
BTC_PORT=${BTC_PORT:-19553}
OUT=bench/out/ab
PGURL=${PGURL:-postgres://root@127.0.0.1:5432}
STREAM_TABLES=blocks,transactions,logs,token_transfers,traces,contracts,tokens
mkdir -p "$OUT"
scripts/setup.sh
LF=$B
. bench/lib.sh

# run NAME BIN ARGS...: one timed run into a fresh work folder; appends
# "wall user sys maxrss_kb" to $OUT/NAME.<a|b>
run() {
  local name=$1 bin=$2; shift 2
  local tag=a
  [ "$bin" = "$B" ] && tag=b
  rm -rf "$OUT/work" && mkdir -p "$OUT/work"
  if ! /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.txt" "$bin" "$@" > /dev/null 2> "$OUT/$name.stderr"; then
    echo "$name ($tag) failed:" >&2; tail -5 "$OUT/$name.stderr" >&2; exit 1
  fi
  tail -1 "$OUT/time.txt" >> "$OUT/$name.$tag"
}

rounds() { # CASE-FUNCTION...: ROUNDS interleaved rounds of the cases
  local r bins
  for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then bins="$A $B"; else bins="$B $A"; fi
    for bin in $bins; do
      for c in "$@"; do "$c" "$bin"; done
    done
    echo "round $r done" >&2
  done
}

cases=()
if [ "$ONLY" = "all" ] || [ "$ONLY" = "evm" ]; then
  if [ "${REUSE_CHAIN:-0}" = "1" ] && [ -s "$OUT/workload.json" ] && pgrep -f "anvil .*--port $EVM_PORT" > /dev/null; then
    RPC="http://127.0.0.1:$EVM_PORT"
    HEAD=$(python3 -c "import json; print(json.load(open('$OUT/workload.json'))['head'])")
  else
    pkill -f "anvil .*--port $EVM_PORT" 2>/dev/null || true
    start_devnet "$EVM_BLOCKS" "$EVM_TXS" "$EVM_PORT"
    [ "${REUSE_CHAIN:-0}" = "1" ] || trap cleanup_procs EXIT
  fi
  EVM_RPC=$RPC
  EVM_HEAD=$HEAD
  evm_all() { run evm_all "$1" export evm --rpc "$EVM_RPC" --blocks "0:$EVM_HEAD" -o "$OUT/work/lake" -q --concurrency 8; }
  evm_etl_csv() { run evm_etl_csv "$1" export evm --rpc "$EVM_RPC" --blocks "0:$EVM_HEAD" -t blocks,transactions,receipts,logs,token_transfers,traces -f csv -o "$OUT/work/lake" -q --concurrency 8; }
  stream_pg_lake() {
    fresh_db ab_stream > /dev/null
    run stream_pg_lake "$1" -q stream evm --rpc "$EVM_RPC" --tables "$STREAM_TABLES" --start 0 --until-head \
      --confirmations 12 --postgres "$PGURL/ab_stream" --lake "$OUT/work/lake"
  }
  for c in evm_all evm_etl_csv stream_pg_lake; do rm -f "$OUT/$c.a" "$OUT/$c.b"; done
  rounds evm_all evm_etl_csv stream_pg_lake
  cases+=(evm_all evm_etl_csv stream_pg_lake)
  if [ "${REUSE_CHAIN:-0}" != "1" ]; then cleanup_procs; trap - EXIT; fi
fi

if [ "$ONLY" = "all" ] || [ "$ONLY" = "btc" ]; then
  NODE="$PWD/$OUT/btc-node"
  BTC_RPC="http://ledgerflow:ledgerflow@127.0.0.1:$BTC_PORT"
  if ! { [ "${REUSE_CHAIN:-0}" = "1" ] && [ -s "$OUT/btc-workload.json" ]; }; then
    rm -rf "$NODE"
    echo "generating $BTC_BLOCKS blocks x ~$BTC_TXS txs on litecoind (seed 1)..." >&2
    $B devnet litecoin --port "$BTC_PORT" --blocks "$BTC_BLOCKS" --txs-per-block "$BTC_TXS" --entities 200 --seed 1 \
      --datadir "$NODE" --ground-truth "$OUT/ground_truth.csv" --exit > "$OUT/btc-workload.json" 2> "$OUT/btc-devnet.log"
  fi
  BTC_HEAD=$(python3 -c "import json; print(json.load(open('$OUT/btc-workload.json'))['head'])")
  litecoind -datadir="$NODE" -conf="$NODE/litecoin.conf" -daemon=0 > /dev/null 2>&1 &
  NODE_PID=$!
  trap 'kill $NODE_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    $B export bitcoin --rpc "$BTC_RPC" --chain litecoin --network regtest --blocks 0:0 --dry-run -o "$OUT/probe" > /dev/null 2>&1 && break
    sleep 0.2
  done
  LFX=(export bitcoin --chain litecoin --network regtest -q --blocks "0:$BTC_HEAD")
  btc_rpc() { run btc_rpc "$1" "${LFX[@]}" --rpc "$BTC_RPC" -o "$OUT/work/lake"; }
  btc_rpc_json() { run btc_rpc_json "$1" "${LFX[@]}" --rpc "$BTC_RPC" -f json -o "$OUT/work/lake"; }
  for c in btc_rpc btc_rpc_json; do rm -f "$OUT/$c.a" "$OUT/$c.b"; done
  rounds btc_rpc btc_rpc_json
  kill "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; trap - EXIT
  btc_files() { run btc_files "$1" "${LFX[@]}" --datadir "$NODE" -o "$OUT/work/lake"; }
  rm -f "$OUT/btc_files.a" "$OUT/btc_files.b"
  rounds btc_files
  cases+=(btc_rpc btc_rpc_json btc_files)
fi

python3 - "$OUT" "$A" "$B" "${cases[@]}" <<'PY'
import statistics, sys
out, a, b, cases = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def load(name, tag):
    rows = [list(map(float, l.split())) for l in open(f"{out}/{name}.{tag}") if l.strip()]
    wall = [r[0] for r in rows]
    cpu = [r[1] + r[2] for r in rows]
    return wall, cpu, max(r[3] for r in rows) / 1024
print(f"\nA = {a}\nB = {b}\nmedians of {len(load(cases[0], 'a')[0])} interleaved rounds (min-max)\n")
print(f"{'case':<16}{'wall A':>18}{'wall B':>18}{'B/A':>8}{'cpu A':>18}{'cpu B':>18}{'B/A':>8}{'peak MB A/B':>14}")
for c in cases:
    wa, ca, ma = load(c, "a")
    wb, cb, mb = load(c, "b")
    f = lambda xs: f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"
    print(f"{c:<16}{f(wa):>18}{f(wb):>18}{statistics.median(wb) / statistics.median(wa):>8.3f}"
          f"{f(ca):>18}{f(cb):>18}{statistics.median(cb) / statistics.median(ca):>8.3f}{f'{ma:.0f}/{mb:.0f}':>14}")
PY
