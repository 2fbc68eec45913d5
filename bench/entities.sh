#!/usr/bin/env bash
# Entities, graphs and taint against their peers, on the same data in one run:
#   1. multi-input clustering: ledgerflow's union-find against graphsense-clustering 0.2.0
#      (its Arrow path) on the same synthetic input lists (mainnet-like input counts),
#      partitions compared address by address, at each size in SIZES;
#   2. PageRank: seconds per iteration against python-igraph 1.0.0 (PRPACK) on the same
#      synthetic graph, at each size in EDGES;
#   3. end to end from a synthetic UTXO lake: `entities build` (inputs per second) and
#      `taint` (outputs per second), at each size in LAKE_SIZES.
#
#   bench/entities.sh                 SIZES="1000000 10000000" EDGES="1000000 10000000"
#                                     LAKE_SIZES="1000000 10000000" ROUNDS=3
# An empty list (SIZES="") skips that part. Needs a release build (cargo build --release) and scripts/setup-peers.sh graph.
set -euo pipefail
cd "$(dirname "$0")/.."
LF=${LF:-target/release/ledgerflow}
PY=.tools/venv-graph/bin/python
OUT=${OUT:-/tmp/lf-bench-entities}
SIZES=${SIZES-"1000000 10000000"}
EDGES=${EDGES-"1000000 10000000"}
LAKE_SIZES=${LAKE_SIZES-"1000000 10000000"}
ROUNDS=${ROUNDS:-3}
[ -x "$LF" ] || { echo "build first: cargo build --release" >&2; exit 1; }
scripts/setup-peers.sh graph
mkdir -p "$OUT"
j() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))" "$1" "$2"; }
jf() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, d))" "$1" "$2"; }
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

echo "== clustering (multi-input), ${ROUNDS} interleaved rounds" >&2
printf "%-12s %14s %14s %14s %8s %8s %12s %12s %10s %8s\n" transactions "ours tx/s" "ours 1t tx/s" "gs tx/s" ratio "1t ratio" "ours RSS MB" "gs RSS MB" "B/address" differ
for n in $SIZES; do
  "$LF" bench cluster --transactions "$n" --addresses "$n" --seed 1 --write "$OUT/inputs.parquet" > /dev/null
  ours=(); one=(); theirs=(); ors=(); grs=()
  for r in $(seq 1 "$ROUNDS"); do
    g=$("$PY" bench/entities_peer.py cluster "$OUT/inputs.parquet" "$OUT/mapping.parquet" $((n - 1)))
    o=$("$LF" bench cluster --transactions "$n" --addresses "$n" --seed 1 --check "$OUT/mapping.parquet")
    o1=$("$LF" bench cluster --transactions "$n" --addresses "$n" --seed 1 --threads 1 --check "$OUT/mapping.parquet")
    ours+=("$(j "$o" transactions_per_second)"); one+=("$(j "$o1" transactions_per_second)")
    theirs+=("$(j "$g" transactions_per_second)")
    ors+=("$(j "$o" "(peak_rss_bytes)/1e6")"); grs+=("$(j "$g" "(peak_rss_bytes)/1e6")")
    differ=$(( $(j "$o" "check['addresses_in_another_cluster']") + $(j "$o1" "check['addresses_in_another_cluster']") ))
    bpa=$(j "$o" union_find_bytes_per_address); threads=$(j "$o" threads)
  done
  mo=$(median "${ours[@]}"); m1=$(median "${one[@]}"); mt=$(median "${theirs[@]}")
  printf "%-12s %14.0f %14.0f %14.0f %8.2f %8.2f %12.0f %12.0f %10s %8s\n" "$n" "$mo" "$m1" "$mt" "$(python3 -c "print($mo/$mt)")" "$(python3 -c "print($m1/$mt)")" "$(median "${ors[@]}")" "$(median "${grs[@]}")" "$bpa" "$differ"
done
[ -z "$SIZES" ] || echo "  (ours on ${threads:-?} threads and on 1; graphsense-clustering is single-threaded)" >&2

echo "== PageRank (value-weighted)" >&2
printf "%-12s %10s %14s %14s %8s %14s %14s %8s %10s\n" edges nodes "ours s/iter" "ours 1t s/iter" iters "ours total s" "igraph s" ratio "top same"
for m in $EDGES; do
  nodes=$((m / 5))
  o=$("$LF" bench pagerank --nodes "$nodes" --edges "$m" --seed 1 --iterations 20 --write "$OUT/edges.parquet")
  g=$("$PY" bench/entities_peer.py pagerank "$OUT/edges.parquet")
  same=$([ "$(j "$o" top_node)" = "$(j "$g" top_node)" ] && echo yes || echo no)
  printf "%-12s %10s %14.4f %14.4f %8s %14.2f %14.2f %8.2f %10s\n" "$m" "$nodes" "$(j "$o" seconds_per_iteration)" "$(j "$o" seconds_per_iteration_1_thread)" "$(j "$o" converged_iterations)" "$(j "$o" converged_seconds)" "$(j "$g" pagerank_seconds)" "$(python3 -c "print($(j "$g" pagerank_seconds)/$(j "$o" converged_seconds))")" "$same"
done

echo "== end to end from a synthetic lake" >&2
printf "%-12s %10s %10s %10s %12s %12s %10s %14s %14s %10s %12s\n" transactions inputs outputs "build s" "inputs/s" "build RSS MB" "taint s" "outputs/s e2e" "outputs/s prop" tainted "taint RSS MB"
for n in $LAKE_SIZES; do
  rm -rf "$OUT/lake"
  "$LF" bench lake -o "$OUT/lake" --transactions "$n" --seed 1 > "$OUT/lake.json"
  ins=$(jf "$OUT/lake.json" inputs)
  /usr/bin/time -f "%e %M" -o "$OUT/t.txt" "$LF" entities build -l "$OUT/lake" --chain synthetic -q --json > "$OUT/build.json"
  read -r bs bm < "$OUT/t.txt"
  # the first payment of the chain: its taint can reach everything after it
  seed=$("$LF" sql -l "$OUT/lake" -f csv "SELECT hash FROM crypto_synthetic.transactions WHERE NOT is_coinbase ORDER BY block_number, \"index\" LIMIT 1" | tail -1)
  /usr/bin/time -f "%e %M" -o "$OUT/t.txt" "$LF" taint -l "$OUT/lake" --chain synthetic --seed "$seed" --model haircut --format json > "$OUT/taint.json"
  read -r ts tm < "$OUT/t.txt"
  tj="$OUT/taint.json"
  outs=$(jf "$tj" ledger_outputs); tainted=$(jf "$tj" outputs); prop=$(jf "$tj" "seconds['propagate']")
  printf "%-12s %10s %10s %10s %12.0f %12.0f %10s %14.0f %14.0f %10s %12.0f\n" "$n" "$ins" "$outs" "$bs" "$(python3 -c "print($ins/$bs)")" "$(python3 -c "print($bm/1000)")" "$ts" "$(python3 -c "print($outs/$ts)")" "$(python3 -c "print($outs/$prop)")" "$tainted" "$(python3 -c "print($tm/1000)")"
  echo "  taint phases (s): $(jf "$tj" seconds)" >&2
done
