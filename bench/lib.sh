# Shared by the bench/ scripts (sourced).

# measure NAME RUNS CMD...: runs CMD RUNS times in a fresh $OUT/work, records
# "seconds maxrss_kb" per run in $OUT/NAME.times; stops the script if CMD fails.
# RETRIES=N measure ...: a run that fails is run again, up to N times (the failures are
# reported, not timed: cryo 0.3.2 sometimes dies of SIGSEGV).
measure() {
  local name=$1 runs=$2; shift 2
  local left=${RETRIES:-0}
  : > "$OUT/$name.times"
  for _ in $(seq 1 "$runs"); do
    while true; do
      rm -rf "$OUT/work" && mkdir -p "$OUT/work"
      if /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > "$OUT/$name.stdout" 2> "$OUT/$name.stderr"; then
        break
      fi
      if [ "$left" -gt 0 ]; then
        left=$((left - 1))
        echo "$name: a run failed ($(head -1 "$OUT/time.txt")); running it again" >&2
        continue
      fi
      echo "$name failed:" >&2; tail -5 "$OUT/$name.stderr" "$OUT/time.txt" >&2; exit 1
    done
    tail -1 "$OUT/time.txt" >> "$OUT/$name.times"
  done
  echo "$name: $(tr '\n' ' ' < "$OUT/$name.times")" >&2
}

# --- an anvil chain, PostgreSQL databases and ethereum-etl's PostgreSQL stream, shared by
# pg_etl.sh and stream.sh. They use $LF, $OUT, $PGURL, $TABLES and (etl_pg_stream) $ETL.

# start_devnet BLOCKS TXS_PER_BLOCK PORT: generates the seeded workload on anvil (kept
# running; cleanup_procs stops it) and sets DEVNET, RPC and HEAD.
start_devnet() {
  echo "generating $1 blocks x ~$2 txs on anvil (seed 1)..." >&2
  $LF devnet run --port "$3" --blocks "$1" --txs-per-block "$2" --seed 1 > "$OUT/workload.json" 2> "$OUT/devnet.log" &
  DEVNET=$!
  until python3 -c "import json,sys; json.load(open('$OUT/workload.json'))" 2>/dev/null; do
    kill -0 $DEVNET 2>/dev/null || { cat "$OUT/devnet.log" >&2; exit 1; }
    sleep 2
  done
  RPC="http://127.0.0.1:$3"
  HEAD=$(python3 -c "
import json, urllib.request
r = urllib.request.urlopen(urllib.request.Request('$RPC', json.dumps({'jsonrpc':'2.0','id':1,'method':'eth_blockNumber','params':[]}).encode(), {'content-type':'application/json'}))
print(int(json.load(r)['result'], 16))")
  echo "chain: blocks 0..$HEAD" >&2
}

# cleanup_procs: stops a running ethereum-etl stream ($STREAM) and the chain ($DEVNET).
cleanup_procs() {
  [ -n "${STREAM:-}" ] && kill "$STREAM" 2>/dev/null || true
  [ -n "${DEVNET:-}" ] && kill "$DEVNET" 2>/dev/null || true
}

fresh_db() { # DB
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}

count_rows() { # DB SCHEMA: rows of the $TABLES
  local n=0 t
  for t in ${TABLES//,/ }; do
    n=$(( n + $(psql "$PGURL/$1" -Atc "SELECT count(*) FROM $2.$t") ))
  done
  echo $n
}

# etl_pg_stream DB: ethereum-etl's `stream` from block 0 into a fresh DB (tables from its
# own SQLAlchemy metadata); it never stops by itself, so it is stopped once its
# last-synced file reaches $HEAD. Sets ETL_SECONDS.
etl_pg_stream() {
  fresh_db "$1"
  "$ETL/python" -c "
from sqlalchemy import create_engine
from ethereumetl.streaming.postgres_tables import metadata
metadata.create_all(create_engine('postgresql+pg8000://root@127.0.0.1:5432/$1'))"
  rm -f "$OUT/last_synced_block.txt"
  local start end
  start=$(date +%s.%N)
  "$ETL/ethereumetl" stream -s 0 -p "$RPC" -o "postgresql+pg8000://root@127.0.0.1:5432/$1" \
    -e block,transaction,log,token_transfer,trace,contract,token \
    -l "$OUT/last_synced_block.txt" --period-seconds 1 -B 100 -b 10 -w 5 \
    > "$OUT/etl.log" 2>&1 &
  STREAM=$!
  until [ -s "$OUT/last_synced_block.txt" ] && [ "$(cat "$OUT/last_synced_block.txt")" -ge "$HEAD" ]; do
    kill -0 $STREAM 2>/dev/null || { echo "ethereum-etl stream died:" >&2; tail -20 "$OUT/etl.log" >&2; exit 1; }
    sleep 0.1
  done
  end=$(date +%s.%N)
  kill $STREAM; wait $STREAM 2>/dev/null || true; STREAM=
  ETL_SECONDS=$(python3 -c "print(f'{$end - $start:.3f}')")
}
