#!/usr/bin/env bash
# Tree models against their peers on the same split, in one run:
#   the Kaggle Ethereum fraud table (../shared/datasets/eth_fraud_kaggle; row number and
#   Index dropped, addresses lower-cased and de-duplicated, an address-disjoint split by a
#   seeded hash, see bench/ml_peer.py prep), for each seed in SEEDS:
#     ledgerflow --algo forest  vs  scikit-learn RandomForestClassifier (same trees)
#     ledgerflow --algo gbt     vs  XGBoost XGBClassifier (hist, depth 6, eta 0.1, same rounds)
#   F1 of the fraud class on the test side, training seconds, batch prediction µs per row
#   (the test rows repeated 50×; best of 3) and single-row latency (one row per call), on
#   THREADS threads (single rows: one thread).
#
#   bench/ml.sh                       SEEDS="1 2 3 4 5" TREES=100 THREADS=2
# Needs a release build (cargo build --release) and scripts/setup-peers.sh ml.
set -euo pipefail
cd "$(dirname "$0")/.."
LF=${LF:-target/release/ledgerflow}
PY=.tools/venv-ml/bin/python
SHARED=${LEDGERFLOW_SHARED:-../shared}
OUT=${OUT:-/tmp/lf-bench-ml}
SEEDS=${SEEDS:-"1 2 3 4 5"}
TREES=${TREES:-100}
THREADS=${THREADS:-2}
[ -x "$LF" ] || { echo "build first: cargo build --release" >&2; exit 1; }
SRC="$SHARED/datasets/eth_fraud_kaggle/transaction_dataset.csv"
[ -f "$SRC" ] || { echo "no $SRC (set LEDGERFLOW_SHARED)" >&2; exit 1; }
scripts/setup-peers.sh ml
mkdir -p "$OUT"
j() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))" "$1" "$2"; }
mean() { python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(f'{statistics.mean(v):.4f} ± {statistics.pstdev(v):.4f}')" "$@"; }

echo "== data: $("$PY" bench/ml_peer.py prep "$SRC" "$OUT" --split-seed 1)" >&2
EXCL=(--exclude "ERC20 most sent token type" --exclude "ERC20_most_rec_token_type")
printf "%-5s %-7s %7s %8s %9s %9s   %-8s %7s %8s %9s %9s\n" seed ours f1 "train s" "batch µs" "1-row µs" peer f1 "train s" "batch µs" "1-row µs"
declare -A F=()
for seed in $SEEDS; do
  for pair in "forest sklearn" "gbt xgboost"; do
    set -- $pair
    algo=$1 peer=$2
    o=$("$LF" model train --features "$OUT/train.csv" --id Address --label FLAG "${EXCL[@]}" \
      --algo "$algo" --trees "$TREES" --seed "$seed" --threads "$THREADS" -o "$OUT/m-$algo" --format json)
    "$LF" -q model predict --model "$OUT/m-$algo" --features "$OUT/test.csv" --id Address \
      --threads "$THREADS" -o "$OUT/pred-$algo.csv" 2>/dev/null
    p=$("$LF" bench predict --model "$OUT/m-$algo" --features "$OUT/big.csv" --id Address --threads "$THREADS")
    f1=$(j "$("$PY" bench/ml_peer.py f1 "$OUT/test.csv" "$OUT/pred-$algo.csv")" f1)
    g=$("$PY" bench/ml_peer.py "$peer" "$OUT/train.csv" "$OUT/test.csv" "$OUT/big.csv" \
      --trees "$TREES" --seed "$seed" --threads "$THREADS")
    printf "%-5s %-7s %7.4f %8.3f %9.3f %9.2f   %-8s %7.4f %8.3f %9.3f %9.2f\n" "$seed" "$algo" "$f1" \
      "$(j "$o" "seconds['train']")" "$(j "$p" batch_us_per_row)" "$(j "$p" single_us_per_row)" \
      "$peer" "$(j "$g" f1)" "$(j "$g" train_s)" "$(j "$g" us_per_row)" "$(j "$g" single_us_per_row)"
    F[$algo]+=" $f1"; F[$peer]+=" $(j "$g" f1)"
    F[$algo-t]+=" $(j "$o" "seconds['train']")"; F[$peer-t]+=" $(j "$g" train_s)"
    F[$algo-p]+=" $(j "$p" batch_us_per_row)"; F[$peer-p]+=" $(j "$g" us_per_row)"
    F[$algo-s]+=" $(j "$p" single_us_per_row)"; F[$peer-s]+=" $(j "$g" single_us_per_row)"
  done
done
echo "== means over seeds ($SEEDS), $TREES trees, $THREADS threads (batch: $(j "$p" rows) rows)" >&2
for t in forest sklearn gbt xgboost; do
  printf "%-8s F1 %s   train s %s   batch µs/row %s   1-row µs %s\n" "$t" "$(mean ${F[$t]})" "$(mean ${F[$t-t]})" "$(mean ${F[$t-p]})" "$(mean ${F[$t-s]})"
done
