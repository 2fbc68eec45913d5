#!/usr/bin/env bash
# Side-by-side EVM export benchmark on one generated anvil chain, in one run:
#   ledgerflow (all tables, and cryo's table set) vs cryo 0.3.2 (Python API) vs
#   ethereum-etl 2.4.2, plus the "RPC floor" (a bare client fetching blocks, block
#   receipts and traces at the same concurrency, decoding nothing).
# Prints median wall time of RUNS runs, peak RSS, and the ratios.
#
#   bench/evm_export.sh [BLOCKS] [TXS_PER_BLOCK]       (default 3000 19 → ~52k txs)
#   RUNS=3 CONC=8 PORT=18745 bench/evm_export.sh
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

rm -rf "$OUT" && mkdir -p "$OUT"
echo "generating $BLOCKS blocks x ~$TPB txs on anvil (seed 1)..." >&2
gen_start=$(date +%s)
$LF devnet run --port "$PORT" --blocks "$BLOCKS" --txs-per-block "$TPB" --seed 1 > "$OUT/workload.json" 2> "$OUT/devnet.log" &
DEVNET=$!
trap 'kill $DEVNET 2>/dev/null || true' EXIT
until python3 -c "import json,sys; json.load(open('$OUT/workload.json'))" 2>/dev/null; do
  kill -0 $DEVNET 2>/dev/null || { cat "$OUT/devnet.log" >&2; exit 1; }
  sleep 2
done
HEAD=$(python3 -c "import json; print(json.load(open('$OUT/workload.json'))['head'])")
TXS=$(python3 -c "import json; print(json.load(open('$OUT/workload.json'))['transactions'])")
echo "chain: blocks 0..$HEAD, $TXS transactions, generated in $(( $(date +%s) - gen_start )) s" >&2

. bench/lib.sh

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

measure floor "$RUNS" $LF bench rpc-floor --rpc "$RPC" --blocks "0:$HEAD" --concurrency "$CONC" --batch-size 50
measure ledgerflow_all "$RUNS" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -o "$OUT/work/lake" -q --concurrency "$CONC"
if [ -n "${PRELOAD:-}" ]; then
  measure ledgerflow_all_preload "$RUNS" env LD_PRELOAD="$PRELOAD" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -o "$OUT/work/lake" -q --concurrency "$CONC"
fi
measure ledgerflow_all_direct_token_calls "$RUNS" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -o "$OUT/work/lake" -q --concurrency "$CONC" --direct-token-calls
measure ledgerflow_all_tokens_latest "$RUNS" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -o "$OUT/work/lake" -q --concurrency "$CONC" --token-block latest
measure ledgerflow_cryo_tables "$RUNS" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -t blocks,transactions,logs,traces -o "$OUT/work/lake" -q --concurrency "$CONC"
measure ledgerflow_etl_tables "$RUNS" $LF export evm --rpc "$RPC" --blocks "0:$HEAD" -t blocks,transactions,receipts,logs,token_transfers,traces -f csv -o "$OUT/work/lake" -q --concurrency "$CONC"
measure cryo "$RUNS" "$CRYO_PY" -c "import cryo; cryo.freeze(['blocks','transactions','logs','traces'], blocks=['0:$((HEAD + 1))'], rpc='$RPC', output_dir='$OUT/work/cryo', verbose=False, max_concurrent_requests=$CONC)"
measure ethereum_etl "$RUNS" bash -c etl_pipeline

python3 - "$OUT" "$HEAD" "$TXS" "$CONC" <<'PY'
import json, statistics, sys
out, head, txs, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def load(n):
    rows = [l.split() for l in open(f"{out}/{n}.times") if l.strip()]
    return statistics.median(float(r[0]) for r in rows), max(int(r[1]) for r in rows) / 1024
import os
names = ["floor", "ledgerflow_all"] + (["ledgerflow_all_preload"] if os.path.exists(f"{out}/ledgerflow_all_preload.times") else []) + ["ledgerflow_all_direct_token_calls", "ledgerflow_all_tokens_latest", "ledgerflow_cryo_tables", "ledgerflow_etl_tables", "cryo", "ethereum_etl"]
res = {n: load(n) for n in names}
print(f"\nchain: {head + 1} blocks, {txs} transactions; concurrency {conc}; median of runs\n")
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
json.dump({"blocks": head + 1, "transactions": txs, "concurrency": conc,
           "results": {n: {"seconds": res[n][0], "peak_mb": res[n][1]} for n in names}},
          open(f"{out}/results.json", "w"), indent=1)
PY
