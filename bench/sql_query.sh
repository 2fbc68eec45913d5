#!/usr/bin/env bash
# Query latency: ledgerflow sql (DataFusion) vs DuckDB (PyPI, pinned) on the same Parquet
# files of one generated anvil chain, for three example queries of docs/queries/.
# Both run as a fresh process per query (open the lake, plan, read, print CSV); each also
# reports the query's own time inside the engine (ledgerflow --timing; DuckDB timed around
# execute + fetch). Prints medians of RUNS runs and the ratios (target: within 1.5x).
#
#   bench/sql_query.sh [BLOCKS] [TXS_PER_BLOCK]      (default 3000 19 -> ~52k txs)
#   RUNS=5 PORT=18746 bench/sql_query.sh
#   LF=/path/to/release/ledgerflow bench/sql_query.sh   (skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."
BLOCKS=${1:-3000}
TPB=${2:-19}
RUNS=${RUNS:-5}
PORT=${PORT:-18746}
OUT=bench/out/sql
LAKE="$PWD/$OUT/lake"
QUERIES=(04_gas_price_statistics 05_token_transfer_counts 07_daily_active_addresses)

scripts/setup.sh
scripts/setup-peers.sh readers
if [ -z "${LF:-}" ]; then   # LF=path/to/ledgerflow uses a binary already built
  cargo build --release --locked -p ledgerflow >&2
  LF=target/release/ledgerflow
fi
PY=.tools/venv-readers/bin/python

rm -rf "$OUT" && mkdir -p "$OUT"
echo "generating $BLOCKS blocks x ~$TPB txs on anvil (seed 1)..." >&2
$LF devnet run --port "$PORT" --blocks "$BLOCKS" --txs-per-block "$TPB" --seed 1 > "$OUT/workload.json" 2> "$OUT/devnet.log" &
DEVNET=$!
trap 'kill $DEVNET 2>/dev/null || true' EXIT
until python3 -c "import json,sys; json.load(open('$OUT/workload.json'))" 2>/dev/null; do
  kill -0 $DEVNET 2>/dev/null || { cat "$OUT/devnet.log" >&2; exit 1; }
  sleep 2
done
$LF export evm --rpc "http://127.0.0.1:$PORT" -o "$LAKE" -q
kill $DEVNET; wait $DEVNET 2>/dev/null || true; trap - EXIT
TXS=$(python3 -c "import json; print(json.load(open('$OUT/workload.json'))['transactions'])")

cat > "$OUT/duck.py" <<'PY'
import sys, time, duckdb
lake, query = sys.argv[1], open(sys.argv[2]).read()
con = duckdb.connect()
con.execute("CREATE SCHEMA crypto_ethereum")
for t in ["blocks", "transactions", "token_transfers", "traces", "logs", "receipts", "contracts"]:
    con.execute(f"CREATE VIEW crypto_ethereum.{t} AS SELECT * FROM read_parquet('{lake}/anvil/{t}/*.parquet')")
start = time.perf_counter()
rows = con.execute(query.rstrip().rstrip(";")).fetchall()
took = time.perf_counter() - start
for r in rows:
    print(",".join("" if v is None else str(v) for v in r))
print(f"{len(rows)} rows in {took:.3f} s", file=sys.stderr)
PY

. bench/lib.sh
for q in "${QUERIES[@]}"; do
  measure "lf_$q" "$RUNS" $LF sql -l "$LAKE" --timing --format csv -F "docs/queries/$q.sql"
  measure "duck_$q" "$RUNS" "$PY" "$OUT/duck.py" "$LAKE" "docs/queries/$q.sql"
done

python3 - "$OUT" "$TXS" "${QUERIES[@]}" <<'PY'
import statistics, sys, re
out, txs, qs = sys.argv[1], sys.argv[2], sys.argv[3:]
def wall(n):
    return statistics.median(float(l.split()[0]) for l in open(f"{out}/{n}.times") if l.strip())
def inner(n):
    # the stderr of the last run only: "<rows> rows in <s> s"
    m = re.findall(r"rows in ([0-9.]+) s", open(f"{out}/{n}.stderr").read())
    return float(m[-1]) if m else float("nan")
print(f"\nanvil chain, {txs} transactions; median of runs (wall: whole process)\n")
print(f"{'query':<30}{'ledgerflow s':>14}{'duckdb s':>10}{'ratio':>8}{'lf query s':>12}{'duck query s':>14}")
for q in qs:
    a, b = wall(f"lf_{q}"), wall(f"duck_{q}")
    print(f"{q:<30}{a:>14.3f}{b:>10.3f}{a / b:>8.2f}{inner(f'lf_{q}'):>12.3f}{inner(f'duck_{q}'):>14.3f}")
PY
