#!/usr/bin/env bash
# Graph learning on the litecoind devnet workload with roles (miners, exchanges,
# gambling services, CoinJoin participants, users; see bench/lookalike.sh), in one run:
#   1. `devnet litecoin --roles` exported into a lake, every address labelled with its
#      owner's role, `entities build`, `graph build`, address features
#      (`features --level address --no-label-features`);
#   2. anomaly ranking of the address graph (`gnn train --task anomaly`): where the
#      CoinJoin participants' addresses land, precision@k and ROC-AUC of the auto-encoder
#      and of OddBall;
#   3. node classification of the roles with and without graph embeddings in the tree
#      model: unsupervised link-prediction embeddings of the address graph (no label read),
#      then `model evaluate --split group --group-col label_source` (every owner on one
#      side) with and without `--with-embeddings`, for each seed in SEEDS;
#   4. transaction anomalies on the default workload (no roles: payments, consolidations,
#      CoinJoins, peel chains, fan-outs), one chain per seed in TX_WSEEDS, each
#      transaction's action from `--actions-file`: `gnn train --task anomaly --level
#      transaction` with CoinJoin and peel-chain transactions as the anomalies; the
#      supervised ranking (MODELS, trained on the earlier 70 %) against the unsupervised
#      ones (auto-encoder, OddBall, isolation forest) on the latest 20 %.
#
#   bench/gnn_devnet.sh           SEEDS="1 2 3" BLOCKS=120 TXS=20 TREES=100 THREADS=2
#                                 TX_WSEEDS="42 43 44" MODELS="sage gcn gat" PARTS="1 2 3 4"
# Needs litecoind (scripts/setup.sh) and a build (LF=target/release/ledgerflow).
set -euo pipefail
cd "$(dirname "$0")/.."
LF=${LF:-target/release/ledgerflow}
OUT=${OUT:-/tmp/lf-bench-gnn-devnet}
SEEDS=${SEEDS:-"1 2 3"}
BLOCKS=${BLOCKS:-120}
TXS=${TXS:-20}
WSEED=${WSEED:-42}
TREES=${TREES:-100}
THREADS=${THREADS:-2}
TX_WSEEDS=${TX_WSEEDS:-"42 43 44"}
MODELS=${MODELS:-"sage gcn gat"}
PARTS=${PARTS:-"1 2 3 4"}
has() { [[ " $PARTS " == *" $1 "* ]]; }
[ -x "$LF" ] || { echo "build first: cargo build --release (or set LF)" >&2; exit 1; }
rm -rf "$OUT" && mkdir -p "$OUT"
if has 1 || has 2 || has 3; then
echo "== workload: $BLOCKS blocks × $TXS transactions, seed $WSEED" >&2
"$LF" devnet litecoin --port 0 --datadir "$OUT/node" --roles --roles-file "$OUT/roles.csv" \
  --blocks "$BLOCKS" --txs-per-block "$TXS" --seed "$WSEED" --exit > "$OUT/workload.json" 2> "$OUT/devnet.log"
"$LF" -q export bitcoin --datadir "$OUT/node" --chain litecoin --network regtest -o "$OUT/lake"
C=litecoin-regtest
L="$OUT/lake"
"$LF" labels import -l "$L" --chain $C "$OUT/roles.csv" >&2
"$LF" -q entities build -l "$L" --chain $C >&2
"$LF" -q graph build -l "$L" --chain $C >&2
"$LF" -q features --lake "$L" --chain $C --level address --window 3650d --no-label-features \
  -o "$OUT/address.parquet" > /dev/null

echo "== anomaly ranking of the address graph (positive: coinjoin)"
"$LF" gnn train --task anomaly --lake "$L" --chain $C --features "$OUT/address.parquet" \
  --id address --label label --positive coinjoin --exclude label_source --top 20 \
  --seed 1 --threads "$THREADS" --format json -o "$OUT/anomaly" > "$OUT/anomaly.json"
python3 - "$OUT/anomaly.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
e = v["evaluation"]
print(f"nodes {v['nodes']}, links {v['links']}; labelled {e['labelled']}, coinjoin {e['anomalies']}")
for name in ("gae", "oddball"):
    q = e[name]
    p = "  ".join(f"P@{k} {x:.3f}" for k, x in q["precision_at"])
    print(f"{name:<8} ROC-AUC {q['auc']:.4f}  {p}")
PY

echo "== roles with and without graph embeddings (group split by owner, 40 % held out)"
"$LF" gnn train --task link --lake "$L" --chain $C --seed 1 --threads "$THREADS" \
  --format json -o "$OUT/link" > "$OUT/link.json"
python3 -c "import json,sys; v=json.load(open(sys.argv[1])); print(f\"link prediction on the address graph: AUC {v['auc']:.4f} (Adamic-Adar {v['baseline']['auc']:.4f})\")" "$OUT/link.json"
for s in $SEEDS; do
  "$LF" model evaluate --features "$OUT/address.parquet" --id address --label label \
    --split group --group-col label_source --test-fraction 0.4 --trees "$TREES" --seed "$s" \
    --threads "$THREADS" --with-embeddings "$OUT/link/embeddings.parquet" --format json \
    > "$OUT/eval-$s.json"
done
python3 - "$OUT" $SEEDS <<'PY'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
rows = {"features alone": [], "features + embeddings": []}
per = {}
for s in seeds:
    r = json.load(open(f"{out}/eval-{s}.json"))
    rows["features alone"].append(r["features_alone"])
    rows["features + embeddings"].append(r["report"])
f = lambda v: f"{statistics.mean(v):.4f} ± {statistics.pstdev(v):.4f}"
print(f"{'':<24} {'accuracy':>18} {'macro F1':>18}")
for k, v in rows.items():
    print(f"{k:<24} {f([x['accuracy'] for x in v]):>18} {f([x['macro_f1'] for x in v]):>18}")
for k, v in rows.items():
    by = {}
    for rep in v:
        for c in rep["classes"]:
            by.setdefault(c["class"], []).append(c["f1"])
    print(f"{k}: F1 per class " + ", ".join(f"{c} {statistics.mean(x):.3f}" for c, x in sorted(by.items())))
PY
fi

has 4 || exit 0
echo "== transaction anomalies (CoinJoin + peel chain), default workload, $BLOCKS blocks × $TXS"
for w in $TX_WSEEDS; do
  T="$OUT/tx-$w"
  mkdir -p "$T"
  "$LF" devnet litecoin --port 0 --datadir "$T/node" --blocks "$BLOCKS" --txs-per-block "$TXS" \
    --seed "$w" --actions-file "$T/actions.csv" --exit > "$T/workload.json" 2> "$T/devnet.log"
  "$LF" -q export bitcoin --datadir "$T/node" --chain litecoin --network regtest -o "$T/lake"
  for m in $MODELS; do
    "$LF" gnn train --task anomaly --lake "$T/lake" --chain litecoin-regtest --level transaction \
      --features "$T/actions.csv" --id txid --label action --positive coinjoin,peel_chain \
      --model "$m" --rank-by supervised --seed 1 --threads "$THREADS" --format json \
      > "$T/anomaly-$m.json"
  done
done
python3 - "$OUT" "$MODELS" $TX_WSEEDS <<'PY'
import json, statistics, sys
out, models, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
rows = {}
for w in seeds:
    for m in models:
        v = json.load(open(f"{out}/tx-{w}/anomaly-{m}.json"))
        e = v["evaluation"]
        s = e["supervised"]
        if m == models[0]:
            print(f"chain {w}: {v['nodes']} transactions, {v['links']} spend links; "
                  f"{e['labelled']} labelled, {e['anomalies']} CoinJoin/peel; held out "
                  f"{s['test_nodes']} ({s['test_anomalies']} anomalies)")
        for k, q in s["held_out"].items():
            name = f"supervised {m}" if k == "supervised" else k
            if k != "supervised" and m != models[0]:
                continue
            p = dict((str(a), b) for a, b in q["precision_at"])
            rows.setdefault(name, []).append((q["auc"], q["r_precision"], p["10"], p["50"]))
        if m == models[0] and e.get("typology"):
            q = e["typology"]
            p = dict((str(a), b) for a, b in q["precision_at"])
            rows.setdefault("typology, every labelled tx", []).append(
                (q["auc"], q["r_precision"], p["10"], p["50"]))
f = lambda v: f"{statistics.mean(v):.3f} ± {statistics.pstdev(v):.3f}"
print(f"{'ranking (held-out 20 %)':<18} {'ROC-AUC':>15} {'R-precision':>15} {'P@10':>15} {'P@50':>15}")
for k, v in rows.items():
    print(f"{k:<18} " + " ".join(f"{f([x[i] for x in v]):>15}" for i in range(4)))
PY
