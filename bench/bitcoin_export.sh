#!/usr/bin/env bash
# Side-by-side Bitcoin-family export benchmark on one generated litecoind regtest chain, in
# one run:
#   ledgerflow over RPC (enriched, Parquet; and enriched bitcoin-etl JSON)
#   ledgerflow from the data directory (enriched, Parquet)
#   bitcoin-etl 1.5.2: export_blocks_and_transactions + enrich_transactions (JSON), with
#     8 workers and batches of 10 blocks / 100 transactions, and once with its defaults
#   bitcoin-explorer 1.2.21: connected iteration over the same data directory (Python)
# plus the node floor (a bare client fetching the same getblockhash + `getblock <hash> 0`
# answers at the same concurrency, decoding nothing) with litecoind's own CPU seconds, decode
# throughput on the real mainnet block against SHA-256d of every byte, and the spent-output
# index's bytes per unspent output.
# Prints median wall time of RUNS runs (bitcoin-etl: ETL_RUNS), peak RSS, and the ratios.
#
#   bench/bitcoin_export.sh [BLOCKS] [TXS_PER_BLOCK]     (default 1500 20 -> ~31k txs)
#   RUNS=3 ETL_RUNS=1 PORT=19543 bench/bitcoin_export.sh
#   REUSE_CHAIN=1 bench/bitcoin_export.sh      (measure again on the chain already generated)
set -euo pipefail
cd "$(dirname "$0")/.."
BLOCKS=${1:-1500}
TPB=${2:-20}
RUNS=${RUNS:-3}
ETL_RUNS=${ETL_RUNS:-1}
PORT=${PORT:-19543}
OUT=bench/out/bitcoin
SHARED=${LEDGERFLOW_SHARED:-../shared}

scripts/setup.sh
scripts/setup-peers.sh btcetl explorer
cargo build --release --locked -p ledgerflow >&2
LF=target/release/ledgerflow
ETL=.tools/venv-btcetl/bin/bitcoinetl
EXPLORER_PY=.tools/venv-explorer/bin/python
RPC="http://ledgerflow:ledgerflow@127.0.0.1:$PORT"

NODE="$PWD/$OUT/node"
if [ "${REUSE_CHAIN:-0}" = "1" ] && [ -s "$OUT/workload.json" ]; then
  echo "reusing the chain in $NODE" >&2
else
  rm -rf "$OUT" && mkdir -p "$OUT"
  echo "generating $BLOCKS blocks x ~$TPB txs on litecoind (seed 1)..." >&2
  gen_start=$(date +%s)
  $LF devnet litecoin --port "$PORT" --blocks "$BLOCKS" --txs-per-block "$TPB" --entities 200 --seed 1 \
    --datadir "$NODE" --ground-truth "$OUT/ground_truth.csv" --exit > "$OUT/workload.json" 2> "$OUT/devnet.log"
  echo "generated in $(( $(date +%s) - gen_start )) s" >&2
fi
HEAD=$(python3 -c "import json; print(json.load(open('$OUT/workload.json'))['head'])")
TXS=$(python3 -c "import json; print(json.load(open('$OUT/workload.json'))['transactions'])")
echo "chain: blocks 0..$HEAD, $TXS transactions (+ coinbases)" >&2

start_node() {
  litecoind -datadir="$NODE" -conf="$NODE/litecoin.conf" -daemon=0 > /dev/null 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 100); do
    $LF export bitcoin --rpc "$RPC" --chain litecoin --network regtest --blocks 0:0 --dry-run -o "$OUT/probe" > /dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "litecoind did not start" >&2; exit 1
}
stop_node() {
  kill "$NODE_PID" 2>/dev/null || true
  wait "$NODE_PID" 2>/dev/null || true
}
trap 'stop_node' EXIT

. bench/lib.sh

etl_pipeline() {
  local w=$OUT/work
  $ETL export_blocks_and_transactions -s 0 -e "$HEAD" -p "$RPC" -c litecoin -w 8 -b 10 \
    --blocks-output "$w/blocks.json" --transactions-output "$w/transactions.json" &&
  $ETL enrich_transactions -p "$RPC" -c litecoin -w 8 -b 100 \
    --transactions-input "$w/transactions.json" --transactions-output "$w/enriched.json"
}
# the same with bitcoin-etl's own defaults (-w 5, export batch 1, enrich batch 1)
etl_defaults() {
  local w=$OUT/work
  $ETL export_blocks_and_transactions -s 0 -e "$HEAD" -p "$RPC" -c litecoin \
    --blocks-output "$w/blocks.json" --transactions-output "$w/transactions.json" &&
  $ETL enrich_transactions -p "$RPC" -c litecoin \
    --transactions-input "$w/transactions.json" --transactions-output "$w/enriched.json"
}
export -f etl_pipeline etl_defaults
export ETL OUT HEAD RPC

# node_cpu NAME CMD...: runs CMD once more and records litecoind's CPU seconds during it
node_cpu() {
  local name=$1; shift
  local hz before after
  hz=$(getconf CLK_TCK)
  before=$(awk '{print $14 + $15}' "/proc/$NODE_PID/stat")
  rm -rf "$OUT/work" && mkdir -p "$OUT/work"
  "$@" > /dev/null 2>&1
  after=$(awk '{print $14 + $15}' "/proc/$NODE_PID/stat")
  python3 -c "print(f'{($after - $before) / $hz:.2f}')" > "$OUT/$name.node_cpu"
}

start_node
LFX=(export bitcoin --chain litecoin --network regtest -q)
measure node_floor "$RUNS" $LF bench rpc-floor --rpc "$RPC" --methods getblock --blocks "0:$HEAD" --concurrency 8 --batch-size 50
node_cpu node_floor $LF bench rpc-floor --rpc "$RPC" --methods getblock --blocks "0:$HEAD" --concurrency 8 --batch-size 50
node_cpu ledgerflow_rpc_etl_json $LF "${LFX[@]}" --rpc "$RPC" -f json -o "$OUT/work/lake"
measure ledgerflow_rpc "$RUNS" $LF "${LFX[@]}" --rpc "$RPC" -o "$OUT/work/lake"
measure ledgerflow_rpc_etl_json "$RUNS" $LF "${LFX[@]}" --rpc "$RPC" -f json -o "$OUT/work/lake"
measure bitcoin_etl "$ETL_RUNS" bash -c etl_pipeline
measure bitcoin_etl_defaults 1 bash -c etl_defaults
stop_node
trap - EXIT
measure ledgerflow_files "$RUNS" $LF "${LFX[@]}" --datadir "$NODE" -o "$OUT/work/lake"
measure explorer "$RUNS" "$EXPLORER_PY" -c "
import bitcoin_explorer as bk
db = bk.BitcoinDB('$NODE/regtest', tx_index=False)
n = db.get_block_count()
txs = ins = 0
for b in db.get_block_iter_range(stop=n, connected=True):
    txs += len(b['txdata'])
    ins += sum(len(t['input']) for t in b['txdata'])
print(n, txs, ins)
"
$LF bench decode --block "$SHARED/fixtures/mainnet-blocks/000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw" --seconds 3 > "$OUT/decode.txt"
/usr/bin/time -f "%e s, peak RSS %M KB" $LF bench utxo --count 10000000 > "$OUT/utxo.txt" 2>&1

python3 - "$OUT" "$HEAD" "$TXS" <<'PY'
import json, statistics, sys
out, head, txs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(n):
    rows = [l.split() for l in open(f"{out}/{n}.times") if l.strip()]
    return statistics.median(float(r[0]) for r in rows), max(int(r[1]) for r in rows) / 1024
names = ["node_floor", "ledgerflow_rpc", "ledgerflow_rpc_etl_json", "bitcoin_etl", "bitcoin_etl_defaults", "ledgerflow_files", "explorer"]
res = {n: load(n) for n in names}
print(f"\nchain: {head + 1} blocks, {txs} transactions (+ {head + 1} coinbases); median of runs\n")
print(f"{'tool':<26}{'seconds':>10}{'peak MB':>10}")
for n in names:
    print(f"{n:<26}{res[n][0]:>10.2f}{res[n][1]:>10.1f}")
print()
print(f"bitcoin-etl (export+enrich) / ledgerflow RPC, same JSON:  {res['bitcoin_etl'][0] / res['ledgerflow_rpc_etl_json'][0]:.1f}x  (target >= 50)")
print(f"bitcoin-etl (export+enrich) / ledgerflow RPC, Parquet:    {res['bitcoin_etl'][0] / res['ledgerflow_rpc'][0]:.1f}x")
print(f"bitcoin-etl with its defaults / ledgerflow RPC, same JSON: {res['bitcoin_etl_defaults'][0] / res['ledgerflow_rpc_etl_json'][0]:.1f}x")
cpu = {n: float(open(f"{out}/{n}.node_cpu").read()) for n in ["node_floor", "ledgerflow_rpc_etl_json"]}
print(f"ledgerflow RPC JSON / node floor:                         {res['ledgerflow_rpc_etl_json'][0] / res['node_floor'][0]:.2f}x")
print(f"litecoind CPU seconds: node floor {cpu['node_floor']:.2f}, ledgerflow RPC JSON {cpu['ledgerflow_rpc_etl_json']:.2f}")
print(f"50x bitcoin-etl (tuned) would be {res['bitcoin_etl'][0] / 50:.2f} s; the bare fetch takes {res['node_floor'][0]:.2f} s")
print(f"bitcoin-explorer connected / ledgerflow files + Parquet:  {res['explorer'][0] / res['ledgerflow_files'][0]:.2f}x  (target >= 1)")
print()
print(open(f"{out}/decode.txt").read())
print(open(f"{out}/utxo.txt").read())
json.dump({"blocks": head + 1, "transactions": txs, "litecoind_cpu_seconds": cpu,
           "results": {n: {"seconds": res[n][0], "peak_mb": res[n][1]} for n in names}},
          open(f"{out}/results.json", "w"), indent=1)
PY
