#!/usr/bin/env bash
# Streaming benchmarks on one generated anvil chain, in one run:
#
# 1. Catch-up into PostgreSQL: ethereum-etl's `stream` (its only PostgreSQL path:
#    SQLAlchemy INSERT ... ON CONFLICT DO NOTHING into its postgres_tables schema) against
#    `ledgerflow stream evm --until-head --postgres`, both from block 0 to the head, the same
#    entity types, each into a fresh database; rows/s and the ratio.
# 2. Latency at the tip, polling alone and with --ws (new-head notifications over the node's
#    WebSocket): `ledgerflow stream evm --postgres --nats` follows the chain while
#    blocks (1-3 transactions each) are mined one at a time; for each block, the time from
#    `evm_mine` returning to the stream's "event applied" log line (written once the rows are
#    committed in PostgreSQL and every NATS message is acknowledged); p50/p90/p99/max.
#
#   bench/stream.sh [BLOCKS] [TXS_PER_BLOCK] [LATENCY_BLOCKS]   (default 500 19 1000)
#   LF=target/release/ledgerflow POLL=100ms PACE=0.15 bench/stream.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BLOCKS=${1:-500}
TPB=${2:-19}
LAT_BLOCKS=${3:-1000}
PORT=${PORT:-18749}
POLL=${POLL:-100ms}
PACE=${PACE:-0.15}
PGURL=${PGURL:-postgres://root@127.0.0.1:5432}
NATS=${NATS:-nats://127.0.0.1:4222}
OUT=bench/out/stream
ETL_DB=ledgerflow_bench_etl
LF_DB=ledgerflow_bench_lf
TABLES=blocks,transactions,logs,token_transfers,traces,contracts,tokens

scripts/setup.sh
scripts/setup-peers.sh etlpg
if [ -z "${LF:-}" ]; then
  cargo build --release --locked -p ledgerflow >&2
  LF=target/release/ledgerflow
fi
ETL=.tools/venv-etlpg/bin
rm -rf "$OUT" && mkdir -p "$OUT"
. bench/lib.sh
STREAM=
trap cleanup_procs EXIT
start_devnet "$BLOCKS" "$TPB" "$PORT"

# --- 1. catch-up ---------------------------------------------------------------------
etl_pg_stream $ETL_DB
ETL_S=$ETL_SECONDS
echo "ethereum-etl stream: $ETL_S s" >&2

fresh_db $LF_DB
start=$(date +%s.%N)
$LF -q stream evm --rpc "$RPC" --tables "$TABLES" --start 0 --until-head \
  --postgres "$PGURL/$LF_DB" --confirmations 12 2> "$OUT/lf-catchup.log"
end=$(date +%s.%N)
LF_S=$(python3 -c "print(f'{$end - $start:.3f}')")
echo "ledgerflow stream: $LF_S s" >&2
ETL_ROWS=$(count_rows $ETL_DB public)
LF_ROWS=$(count_rows $LF_DB crypto_anvil)

# --- 2. latency at the tip: polling alone, then with new-head notifications (--ws) ------
latency() { # MODE (poll | ws)
  local mode=$1 extra=()
  [ "$mode" = ws ] && extra=(--ws)
  fresh_db $LF_DB
  $LF --log-format json stream evm --rpc "$RPC" --tables "$TABLES" --start latest \
    --postgres "$PGURL/$LF_DB" --nats "$NATS" --nats-stream "LEDGERFLOW_BENCH_${mode}_$$" \
    --nats-prefix "ledgerflow.bench$$.$mode" --name "bench$$$mode" --confirmations 12 \
    --poll-interval "$POLL" "${extra[@]}" 2> "$OUT/lf-follow-$mode.log" &
  STREAM=$!
  sleep 3
  echo "mining $LAT_BLOCKS blocks, one every ${PACE}s, while ledgerflow follows ($mode, poll $POLL)..." >&2
  "$ETL/python" - "$RPC" "$LAT_BLOCKS" "$PACE" "$OUT/mined-$mode.txt" <<'PY'
import json, random, sys, time, urllib.request
rpc, n, pace, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
def call(method, params):
    req = urllib.request.Request(rpc, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(), {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))["result"]
dev = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
rng = random.Random(7)
with open(out, "w") as f:
    for i in range(n):
        for k in range(rng.randint(1, 3)):
            call("eth_sendTransaction", [{"from": dev, "to": "0x000000000000000000000000000000000000dEaD", "value": hex(i * 10 + k + 1)}])
        call("evm_mine", [])
        t = time.time()
        number = int(call("eth_blockNumber", []), 16)
        f.write(f"{number} {t:.6f}\n")
        time.sleep(pace)
PY
  local last
  last=$(tail -1 "$OUT/mined-$mode.txt" | cut -d' ' -f1)
  for _ in $(seq 1 100); do
    grep -q "\"last\":$last," "$OUT/lf-follow-$mode.log" && break
    sleep 0.1
  done
  kill -TERM $STREAM; wait $STREAM 2>/dev/null || true; STREAM=
}
latency poll
latency ws
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $ETL_DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $LF_DB WITH (FORCE)"

python3 - "$OUT" "$ETL_S" "$LF_S" "$ETL_ROWS" "$LF_ROWS" "$HEAD" "$POLL" <<'PY'
import datetime, json, statistics, sys
out, etl_s, lf_s, etl_rows, lf_rows, head, poll = sys.argv[1:]
etl_s, lf_s, etl_rows, lf_rows = float(etl_s), float(lf_s), int(etl_rows), int(lf_rows)
print(f"\ncatch-up, blocks 0..{head} into PostgreSQL (fresh databases):")
print(f"  ethereum-etl stream:        {etl_s:8.2f} s  {etl_rows:8} rows  {etl_rows / etl_s:10,.0f} rows/s")
print(f"  ledgerflow stream evm:      {lf_s:8.2f} s  {lf_rows:8} rows  {lf_rows / lf_s:10,.0f} rows/s")
print(f"  wall-clock ratio {etl_s / lf_s:.1f}x; rows/s ratio {(lf_rows / lf_s) / (etl_rows / etl_s):.1f}x")
for mode in ("poll", "ws"):
    mined = {}
    for line in open(f"{out}/mined-{mode}.txt"):
        n, t = line.split()
        mined[int(n)] = float(t)
    applied = {}
    for line in open(f"{out}/lf-follow-{mode}.log"):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        f = rec.get("fields", {})
        if f.get("message") != "event applied" or f.get("first") is None:
            continue
        ts = datetime.datetime.fromisoformat(rec["timestamp"].replace("Z", "+00:00")).timestamp()
        for n in range(int(f["first"]), int(f["last"]) + 1):
            applied.setdefault(n, ts)
    lat = sorted((applied[n] - t) * 1000 for n, t in mined.items() if n in applied)
    missing = [n for n in mined if n not in applied]
    def pct(p):
        return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]
    how = f"polling every {poll}" if mode == "poll" else f"--ws new-head notifications (poll {poll} as fallback)"
    print(f"\nlatency, mined -> committed in PostgreSQL and acknowledged by NATS, {how}:")
    print(f"  blocks {len(lat)} (missing {len(missing)}); p50 {pct(50):.1f} ms  p90 {pct(90):.1f} ms  "
          f"p99 {pct(99):.1f} ms  max {lat[-1]:.1f} ms  mean {statistics.mean(lat):.1f} ms")
PY
