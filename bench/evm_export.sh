#!/usr/bin/env bash
# Side-by-side EVM export benchmark on one generated anvil chain, in one run:
#   ledgerflow (all tables, and cryo's table set) vs cryo 0.3.2 (Python API) vs
#   ethereum-etl 2.4.2, plus the "RPC floor" (a bare client fetching blocks, block
#   receipts and traces at the same concurrency, decoding nothing).
# Prints median wall time of RUNS runs, peak RSS, and the ratios.
#
#   bench/evm_export.sh [BLOCKS] [TXS_PER_BLOCK]       (default 3000 19 → ~52k txs)
#   RUNS=3 CONC=8 PORT=18745 bench/evm_export.sh
#   SPLIT=1 bench/evm_export.sh: the node on CPU 0 and every measured tool on CPU 1 (a node
#     that does not share its cores with the exporter, as a remote node would not); by
#     default they share every core.
#   REUSE_CHAIN=1 bench/evm_export.sh: measure again on the chain a previous run left running.
set -euo pipefail
cd "$(dirname "$0")/.."
BLOCKS=${1:-3000}
TPB=${2:-19}
RUNS=${RUNS:-3}
CONC=${CONC:-8}
PORT=${PORT:-18745}
OUT=bench/out/evm
RPC="http://127.0.0.1:$PORT"

scripts/setup.sh
scripts/setup-peers.sh etl cryo
# SKIP_BUILD=1 uses the release binary as it is; PRELOAD=/path/libX.so adds a run of the
# full export with that allocator preloaded (e.g. Debian's libmimalloc2.0)
[ "${SKIP_BUILD:-0}" = "1" ] || cargo build --release --locked -p ledgerflow >&2
LF=target/release/ledgerflow
ETL=.tools/venv-etl/bin/ethereumetl
CRYO_PY=.tools/venv-cryo/bin/python

. bench/lib.sh

# REUSE_CHAIN=1 keeps a chain that an earlier run left serving on $PORT (started with
# `ledgerflow devnet run --port $PORT ... > bench/out/evm/workload.json`)
if [ "${REUSE_CHAIN:-0}" = "1" ] && [ -s "$OUT/workload.json" ] && pgrep -f "anvil .*--port $PORT" > /dev/null; then
  echo "reusing the chain on $RPC" >&2
  rm -rf "$OUT/work"
else
  pkill -f "anvil .*--port $PORT" 2>/dev/null || true
  rm -rf "$OUT" && mkdir -p "$OUT"
  start_devnet "$BLOCKS" "$TPB" "$PORT"
  trap cleanup_procs EXIT
fi
HEAD=$(python3 -c "import json; print(json.load(open('$OUT/workload.json'))['head'])")
PIN=()
ANVIL_PID=$(pgrep -f "anvil .*--port $PORT" | head -1)
if [ "${SPLIT:-0}" = "1" ]; then
  taskset -a -cp 0 "$ANVIL_PID" > /dev/null
  PIN=(taskset -c 1)
  echo "split: anvil (pid $ANVIL_PID) on CPU 0, the measured tools on CPU 1" >&2
else
  taskset -a -cp "0-$(( $(nproc) - 1 ))" "$ANVIL_PID" > /dev/null
fi
TXS=$(python3 -c "import json; print(json.load(open('$OUT/workload.json'))['transactions'])")
echo "workload: $TXS transactions in blocks 0..$HEAD" >&2


etl_pipeline() {
  local w=$OUT/work
  $ETL export_blocks_and_transactions -s 0 -e "$HEAD" -p "$RPC" -w "$CONC" --blocks-output "$w/blocks.csv" --transactions-output "$w/transactions.csv" &&
  $ETL extract_csv_column -i "$w/transactions.csv" -c hash -o "$w/hashes.txt" &&
  $ETL export_receipts_and_logs --transaction-hashes "$w/hashes.txt" -p "$RPC" -w "$CONC" --receipts-output "$w/receipts.csv" --logs-output "$w/logs.csv" &&
  $ETL extract_token_transfers --logs "$w/logs.csv" -w "$CONC" -o "$w/token_transfers.csv" &&
  $ETL export_traces -s 0 -e "$HEAD" -p "$RPC" -w "$CONC" -o "$w/traces.csv"
}
export -f etl_pipeline
export ETL OUT HEAD RPC CONC

measure floor "$RUNS" "${PIN[@]}" $LF bench rpc-floor --rpc "$RPC" --blocks "0:$HEAD" --concurrency "$CONC" --batch-size 50
measure ledgerflow_all "$RUNS" "${PIN[@]}" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -o "$OUT/work/lake" -q --concurrency "$CONC"
if [ -n "${PRELOAD:-}" ]; then
  measure ledgerflow_all_preload "$RUNS" "${PIN[@]}" env LD_PRELOAD="$PRELOAD" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -o "$OUT/work/lake" -q --concurrency "$CONC"
fi
measure ledgerflow_all_tokens_latest "$RUNS" "${PIN[@]}" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -o "$OUT/work/lake" -q --concurrency "$CONC" --token-block latest
measure ledgerflow_cryo_tables "$RUNS" "${PIN[@]}" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -t blocks,transactions,logs,traces -o "$OUT/work/lake" -q --concurrency "$CONC"
measure ledgerflow_etl_tables "$RUNS" "${PIN[@]}" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -t blocks,transactions,receipts,logs,token_transfers,traces -f csv -o "$OUT/work/lake" -q --concurrency "$CONC"
RETRIES=2 measure cryo "$RUNS" "${PIN[@]}" "$CRYO_PY" -c "import cryo; cryo.freeze(['blocks','transactions','logs','traces'], blocks=['0:$((HEAD + 1))'], rpc='$RPC', output_dir='$OUT/work/cryo', verbose=False, max_concurrent_requests=$CONC)"
measure ethereum_etl "$RUNS" "${PIN[@]}" bash -c etl_pipeline
# last: thousands of eth_calls at old blocks leave anvil slower for a while (every later
# tool measured 15-45% slower when this ran before them)
measure ledgerflow_all_direct_token_calls "$RUNS" "${PIN[@]}" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -o "$OUT/work/lake" -q --concurrency "$CONC" --direct-token-calls

python3 - "$OUT" "$HEAD" "$TXS" "$CONC" <<'PY'
import json, statistics, sys
out, head, txs, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def load(n):
    rows = [l.split() for l in open(f"{out}/{n}.times") if l.strip()]
    return statistics.median(float(r[0]) for r in rows), max(int(r[1]) for r in rows) / 1024
import os
names = ["floor", "ledgerflow_all"] + (["ledgerflow_all_preload"] if os.path.exists(f"{out}/ledgerflow_all_preload.times") else []) + ["ledgerflow_all_direct_token_calls", "ledgerflow_all_tokens_latest", "ledgerflow_cryo_tables", "ledgerflow_etl_tables", "cryo", "ethereum_etl"]
res = {n: load(n) for n in names}
split = os.environ.get("SPLIT", "0") == "1"
print(f"\nchain: {head + 1} blocks, {txs} transactions; concurrency {conc}; median of runs; " + ("node on CPU 0, tools on CPU 1" if split else "node and tools share every CPU") + "\n")
print(f"{'tool':<28}{'seconds':>10}{'peak MB':>10}")
for n in names:
    print(f"{n:<28}{res[n][0]:>10.2f}{res[n][1]:>10.1f}")
f = res["floor"][0]
print()
print(f"ledgerflow (all 8 tables) / RPC floor:           {res['ledgerflow_all'][0] / f:.2f}x  (target <= 1.2; tokens read at each chunk's end block)")
print(f"ledgerflow (all 8, direct token calls) / floor: {res['ledgerflow_all_direct_token_calls'][0] / f:.2f}x")
print(f"ledgerflow (all 8, tokens at latest) / RPC floor: {res['ledgerflow_all_tokens_latest'][0] / f:.2f}x")
if "ledgerflow_all_preload" in res:
    print(f"ledgerflow (all 8, preloaded allocator) / floor: {res['ledgerflow_all_preload'][0] / f:.2f}x, {res['ledgerflow_all_preload'][1]:.1f} MB")
print(f"cryo / ledgerflow (blocks,txs,logs,traces):      {res['cryo'][0] / res['ledgerflow_cryo_tables'][0]:.2f}x  (target >= 2.5)")
print(f"ethereum-etl / ledgerflow (etl's 6 tables, CSV): {res['ethereum_etl'][0] / res['ledgerflow_etl_tables'][0]:.2f}x  (target >= 12)")
print(f"ledgerflow peak memory (all tables):             {res['ledgerflow_all'][1]:.1f} MB  (target <= 150)")
json.dump({"blocks": head + 1, "transactions": txs, "concurrency": conc, "split": split,
           "results": {n: {"seconds": res[n][0], "peak_mb": res[n][1]} for n in names}},
          open(f"{out}/results.json", "w"), indent=1)
PY
