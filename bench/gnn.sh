#!/usr/bin/env bash
# Graph neural networks against PyTorch Geometric on the same graphs, features, split and
# settings, in one run (bench/gnn_peer.py writes the graphs and runs PyG):
#   for each graph size in SIZES (nodes:mean degree) a stochastic block model with weak
#   class features and a 60/20/20 split column; for GCN and GraphSAGE (mean) and each seed
#   in SEEDS: test accuracy, milliseconds per epoch (training step + validation pass,
#   averaged over EPOCHS epochs, no early stop) and peak memory (max RSS, /usr/bin/time),
#   both on THREADS threads. Then ratios (PyG epoch time / ours) and the accuracy spread.
#   Also the WL signature throughput (neighbourhoods per second) of `gnn wl`.
#
#   bench/gnn.sh                  SIZES="3000:8 200000:11" SEEDS="1 2 3 4 5" EPOCHS=200
#   (200000:11 is 1.1 million edges)
# Needs a release build (cargo build --release) and scripts/setup-peers.sh pyg (torch:
# ~5 GB, not in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
LF=${LF:-target/release/ledgerflow}
PY=.tools/venv-pyg/bin/python
OUT=${OUT:-/tmp/lf-bench-gnn}
SIZES=${SIZES:-"3000:8 200000:11"}
SEEDS=${SEEDS:-"1 2 3 4 5"}
EPOCHS=${EPOCHS:-200}
THREADS=${THREADS:-2}
[ -x "$LF" ] || { echo "build first: cargo build --release" >&2; exit 1; }
scripts/setup-peers.sh pyg
mkdir -p "$OUT"
# runs a command, prints its stdout; its max RSS (KiB) goes to $OUT/rss
rss() { /usr/bin/time -f "%M" -o "$OUT/rss" "$@"; }
j() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))" "$1" "$2"; }
stats() { python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(f'{statistics.mean(v):.4f} ± {statistics.pstdev(v):.4f} (min {min(v):.4f}, max {max(v):.4f})')" "$@"; }

for size in $SIZES; do
  n=${size%%:*} deg=${size##*:}
  d="$OUT/g$n"
  mkdir -p "$d"
  info=$("$PY" bench/gnn_peer.py data "$d" --nodes "$n" --degree "$deg" --seed 1)
  echo "== graph: $info" >&2
  for model in gcn sage; do
    declare -a OA=() PA=() OT=() PT=() OM=() PM=()
    for seed in $SEEDS; do
      o=$(rss "$LF" gnn train --edges "$d/edges.csv" --header no --features "$d/nodes.csv" \
        --id id --label label --split-col part --model "$model" --epochs "$EPOCHS" \
        --patience 0 --seed "$seed" --threads "$THREADS" --format json -o "$d/lf-$model-$seed")
      om=$(cat "$OUT/rss")
      p=$(rss "$PY" bench/gnn_peer.py train "$d" --model "$model" --seed "$seed" \
        --epochs "$EPOCHS" --threads "$THREADS")
      pm=$(cat "$OUT/rss")
      OA+=("$(j "$o" accuracy)") PA+=("$(j "$p" accuracy)")
      OT+=("$(j "$o" epoch_ms)") PT+=("$(j "$p" epoch_ms)")
      OM+=("$om") PM+=("$pm")
      printf "%-8s %-5s seed %s: ours acc %.4f %8.2f ms/epoch %7.0f MiB | PyG acc %.4f %8.2f ms/epoch %7.0f MiB\n" \
        "n=$n" "$model" "$seed" "$(j "$o" accuracy)" "$(j "$o" epoch_ms)" "$((om / 1024))" \
        "$(j "$p" accuracy)" "$(j "$p" epoch_ms)" "$((pm / 1024))"
    done
    echo "-- n=$n $model over seeds [$SEEDS]:"
    echo "   accuracy  ours $(stats "${OA[@]}")"
    echo "   accuracy  PyG  $(stats "${PA[@]}")"
    echo "   ms/epoch  ours $(stats "${OT[@]}")   PyG $(stats "${PT[@]}")"
    echo "   peak MiB  ours $(stats "${OM[@]}" | awk '{printf "%.0f", $1/1024}')   PyG $(stats "${PM[@]}" | awk '{printf "%.0f", $1/1024}')"
    python3 -c "import statistics as s,sys; a=[float(x) for x in sys.argv[1].split()]; b=[float(x) for x in sys.argv[2].split()]; print(f'   epoch time PyG/ours: {s.mean(b)/s.mean(a):.2f}x')" "${OT[*]}" "${PT[*]}"
  done
  # WL signatures of every node's 2-hop neighbourhood
  "$LF" gnn wl --edges "$d/edges.csv" --header no --hops 2 --rounds 2 --dim 64 \
    -o "$d/wl.parquet" 2>&1 | sed 's/^/   /'
done
