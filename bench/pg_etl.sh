#!/usr/bin/env bash
# Chain -> PostgreSQL on one generated anvil chain: ethereum-etl's own Postgres output path
# (`ethereumetl stream --output postgresql+pg8000://...`, the only way ethereum-etl writes to
# PostgreSQL: SQLAlchemy INSERT ... ON CONFLICT DO NOTHING, its postgres_tables schema)
# against ledgerflow (`export evm` to a Parquet lake, then `load postgres`), both from
# block 0 to the head, the same entity types (blocks, transactions with receipt columns,
# logs, token_transfers, traces, contracts, tokens), each into a fresh database.
# Also times `load postgres` alone. Prints rows/s of each and the ratios.
#
#   bench/pg_etl.sh [BLOCKS] [TXS_PER_BLOCK]          (default 500 19 -> ~9k txs)
#   RUNS=3 PORT=18747 LF=target/release/ledgerflow bench/pg_etl.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BLOCKS=${1:-500}
TPB=${2:-19}
RUNS=${RUNS:-3}
PORT=${PORT:-18747}
PGURL=${PGURL:-postgres://root@127.0.0.1:5432}
OUT=bench/out/pg_etl
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

# ethereum-etl: its own `stream` into PostgreSQL
etl_run() {
  etl_pg_stream $ETL_DB
  echo "$ETL_SECONDS" >> "$OUT/etl.times"
}

# ledgerflow: export the same tables to a lake, then load it
lf_run() {
  fresh_db $LF_DB
  rm -rf "$OUT/lake"
  local start mid end
  start=$(date +%s.%N)
  $LF export evm --rpc "$RPC" --blocks "0:$HEAD" --tables "$TABLES" -o "$OUT/lake" -q
  mid=$(date +%s.%N)
  $LF load postgres --url "$PGURL/$LF_DB" -l "$OUT/lake" -q
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.3f} {$mid - $start:.3f} {$end - $mid:.3f}')" >> "$OUT/lf.times"
}

: > "$OUT/etl.times"; : > "$OUT/lf.times"
for i in $(seq 1 "$RUNS"); do
  etl_run
  lf_run
  echo "run $i: ethereum-etl $(tail -1 "$OUT/etl.times") s; ledgerflow (total export load) $(tail -1 "$OUT/lf.times") s" >&2
done
ETL_ROWS=$(count_rows $ETL_DB public)
LF_ROWS=$(count_rows $LF_DB crypto_anvil)
echo "rows per table (ethereum-etl / ledgerflow; ethereum-etl has no ERC-1155 transfers and" >&2
echo "finds no tokens in modern solc bytecode):" >&2
for t in ${TABLES//,/ }; do
  printf '  %-16s %8s / %s\n' "$t" "$(psql "$PGURL/$ETL_DB" -Atc "SELECT count(*) FROM public.$t")" \
    "$(psql "$PGURL/$LF_DB" -Atc "SELECT count(*) FROM crypto_anvil.$t")" >&2
done
python3 - "$OUT" "$ETL_ROWS" "$LF_ROWS" "$HEAD" <<'PY'
import statistics, sys
out, etl_rows, lf_rows, head = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
etl = statistics.median(float(l) for l in open(f"{out}/etl.times") if l.strip())
lf = [list(map(float, l.split())) for l in open(f"{out}/lf.times") if l.strip()]
total = statistics.median(r[0] for r in lf)
export = statistics.median(r[1] for r in lf)
load = statistics.median(r[2] for r in lf)
print(f"\nblocks 0..{head}; rows in PostgreSQL: ethereum-etl {etl_rows}, ledgerflow {lf_rows}; median of runs")
print(f"ethereum-etl stream -> PostgreSQL:        {etl:7.2f} s  {etl_rows / etl:10,.0f} rows/s")
print(f"ledgerflow export evm + load postgres:    {total:7.2f} s  {lf_rows / total:10,.0f} rows/s"
      f"  (export {export:.2f} s, load {load:.2f} s)")
print(f"ledgerflow load postgres alone:           {load:7.2f} s  {lf_rows / load:10,.0f} rows/s")
print(f"ethereum-etl / ledgerflow end to end: {etl / total:.1f}x; rows/s ratio (load alone): "
      f"{(lf_rows / load) / (etl_rows / etl):.1f}x")
PY
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $ETL_DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $LF_DB WITH (FORCE)"
