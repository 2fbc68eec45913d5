#!/usr/bin/env bash
# PostgreSQL load throughput: `ledgerflow load postgres` (Parquet → binary COPY, one
# transaction per chunk, chunk book) against the floor, psql's `\copy ... FROM file CSV`
# of exactly the same rows into the same tables (CSV files written from the loaded tables
# beforehand, so parsing and files are the only work). Rows/s for each, and the ratio.
#
#   bench/pg_load.sh [LAKE]      (default: the lake bench/sql_query.sh left in bench/out/sql)
#   RUNS=3 PGURL=postgres://root@127.0.0.1:5432 LF=target/release/ledgerflow bench/pg_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LAKE=${1:-bench/out/sql/lake}
RUNS=${RUNS:-3}
PGURL=${PGURL:-postgres://root@127.0.0.1:5432}
OUT=bench/out/pg
DB=ledgerflow_bench_load
[ -d "$LAKE" ] || { echo "no lake at $LAKE: run bench/sql_query.sh first or pass one" >&2; exit 2; }
if [ -z "${LF:-}" ]; then
  cargo build --release --locked -p ledgerflow >&2
  LF=target/release/ledgerflow
fi
rm -rf "$OUT" && mkdir -p "$OUT/csv"
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
URL="$PGURL/$DB"
CHAIN=$(ls "$LAKE" | grep -v '^_' | head -1)
SCHEMA="crypto_$(echo "$CHAIN" | tr -c 'a-z0-9\n' '_')"

# once, to create the tables and write the CSV files of the floor
$LF load postgres --url "$URL" -l "$LAKE" --chain "$CHAIN" -q
TABLES=$(psql "$URL" -Atc "SELECT table_name FROM information_schema.tables WHERE table_schema = '$SCHEMA' AND table_name <> 'ledgerflow_chunks' ORDER BY 1")
ROWS=0
for t in $TABLES; do
  psql "$URL" -qc "\\copy $SCHEMA.$t TO '$OUT/csv/$t.csv' CSV"
  ROWS=$(( ROWS + $(psql "$URL" -Atc "SELECT count(*) FROM $SCHEMA.$t") ))
done

truncate_all() {
  for t in $TABLES; do psql "$URL" -qc "TRUNCATE $SCHEMA.$t"; done
  psql "$URL" -qc "TRUNCATE $SCHEMA.ledgerflow_chunks"
}
copy_floor() {
  for t in $TABLES; do psql "$URL" -qc "\\copy $SCHEMA.$t FROM '$OUT/csv/$t.csv' CSV"; done
}
: > "$OUT/ledgerflow.times"; : > "$OUT/psql.times"
for _ in $(seq 1 "$RUNS"); do
  truncate_all
  /usr/bin/time -f "%e %M" -a -o "$OUT/ledgerflow.times" $LF load postgres --url "$URL" -l "$LAKE" --chain "$CHAIN" -q
  truncate_all
  ( TIMEFORMAT=%R; { time copy_floor; } 2>> "$OUT/psql.times" )
done
python3 - "$OUT" "$ROWS" <<'PY'
import statistics, sys
out, rows = sys.argv[1], int(sys.argv[2])
lf = statistics.median(float(l.split()[0]) for l in open(f"{out}/ledgerflow.times") if l.strip())
floor = statistics.median(float(l.split()[0]) for l in open(f"{out}/psql.times") if l.strip())
print(f"\n{rows} rows; median of runs")
print(f"ledgerflow load postgres: {lf:.2f} s  {rows / lf:,.0f} rows/s")
print(f"psql \\copy CSV (floor):   {floor:.2f} s  {rows / floor:,.0f} rows/s")
print(f"ledgerflow / floor time: {lf / floor:.2f}x")
PY
psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
