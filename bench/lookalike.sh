#!/usr/bin/env bash
# Look-alikes of labelled actors on the litecoind devnet workload with roles, and
# feature extraction throughput, in one run:
#   1. `devnet litecoin --roles` (3 miners, 3 exchanges, 3 gambling services, 6 CoinJoin
#      participants, users; seed WSEED, BLOCKS blocks × TXS transactions), exported into a
#      lake; every address labelled with its owner's role (`labels import`, the source
#      names the owner);
#   2. `features --level entity --no-label-features` (no feature is computed from labels);
#      rows/s and peak RSS;
#   3. for each seed in SEEDS: `model evaluate --split group --group-col label_source`
#      (every owner entirely on one side: 40 % of the owners held out, their labels never
#      seen in training) → precision and recall per class, then mean ± sd over the seeds;
#   4. look-alikes from a partial label set: half the owners of each role lose their
#      labels, a forest on the rest scores the unlabelled entities (`model predict
#      --unlabelled label`), ranked per class: precision@K and R-precision (precision in
#      the top R, R = the hidden actors of that class) against the true roles.
#
#   bench/lookalike.sh            SEEDS="1 2 3 4 5" BLOCKS=120 TXS=20 TREES=100 THREADS=2
# Needs litecoind (scripts/setup.sh) and a build (LF=target/release/ledgerflow).
set -euo pipefail
cd "$(dirname "$0")/.."
LF=${LF:-target/release/ledgerflow}
OUT=${OUT:-/tmp/lf-bench-lookalike}
SEEDS=${SEEDS:-"1 2 3 4 5"}
BLOCKS=${BLOCKS:-120}
TXS=${TXS:-20}
WSEED=${WSEED:-42}
TREES=${TREES:-100}
THREADS=${THREADS:-2}
[ -x "$LF" ] || { echo "build first: cargo build --release (or set LF)" >&2; exit 1; }
rm -rf "$OUT" && mkdir -p "$OUT"
echo "== workload: $BLOCKS blocks × $TXS transactions, seed $WSEED" >&2
"$LF" devnet litecoin --port 0 --datadir "$OUT/node" --roles --roles-file "$OUT/roles.csv" \
  --blocks "$BLOCKS" --txs-per-block "$TXS" --seed "$WSEED" --exit > "$OUT/workload.json" 2> "$OUT/devnet.log"
"$LF" -q export bitcoin --datadir "$OUT/node" --chain litecoin --network regtest -o "$OUT/lake"
C=litecoin-regtest
"$LF" labels import -l "$OUT/lake" --chain $C "$OUT/roles.csv" >&2
for level in entity address; do
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$LF" -q features --lake "$OUT/lake" --chain $C \
    --level $level --window 3650d --no-label-features -o "$OUT/$level.parquet" > "$OUT/features-$level.txt"
  read -r secs kb < "$OUT/time.txt"
  rows=$(head -1 "$OUT/features-$level.txt" | cut -d' ' -f1)
  echo "features ($level level, workload chain): $rows rows in ${secs} s = $(python3 -c "print(round($rows/max($secs,1e-9)))") rows/s (whole run), peak RSS $((kb / 1024)) MB; $(tail -1 "$OUT/features-$level.txt")"
done
for s in $SEEDS; do
  "$LF" model evaluate --features "$OUT/entity.parquet" --id entity --label label \
    --split group --group-col label_source --test-fraction 0.4 --trees "$TREES" --seed "$s" \
    --threads "$THREADS" --format json > "$OUT/eval-$s.json"
done
python3 - "$OUT" $SEEDS <<'PY'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
per = {}
for s in seeds:
    r = json.load(open(f"{out}/eval-{s}.json"))
    for c in r["report"]["classes"]:
        per.setdefault(c["class"], []).append(c)
print(f"== held-out owners (group split by label_source, 40 %), {len(seeds)} seeds: mean ± sd")
print(f"{'class':<10} {'precision':>16} {'recall':>16} {'F1':>16} {'test rows':>10}")
f = lambda v: f"{statistics.mean(v):.3f} ± {statistics.pstdev(v):.3f}"
for k, v in sorted(per.items()):
    print(f"{k:<10} {f([x['precision'] for x in v]):>16} {f([x['recall'] for x in v]):>16} "
          f"{f([x['f1'] for x in v]):>16} {statistics.mean([x['support'] for x in v]):>10.0f}")
PY
# Look-alikes from a partial label set: the owners of every other position in each role
# keep their labels, the rest lose them; a forest on the labelled actors ranks the
# unlabelled ones per class, and their true roles (roles.csv) give precision@K.
python3 - "$OUT" <<'PY'
import csv, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/roles.csv")))
owners = {}
for r in rows:
    owners.setdefault(r["category"], [])
    o = r["source"]
    if o not in owners[r["category"]]:
        owners[r["category"]].append(o)
hidden = {o for v in owners.values() for i, o in enumerate(sorted(v)) if i % 2 == 1}
with open(f"{out}/partial.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["address", "category", "source"])
    w.writeheader()
    for r in rows:
        if r["source"] not in hidden:
            w.writerow(r)
print(f"partial labels: {len(hidden)} of {sum(len(v) for v in owners.values())} owners hidden", file=sys.stderr)
PY
"$LF" -q labels import -l "$OUT/lake" --chain $C --replace "$OUT/partial.csv" > /dev/null
"$LF" -q features --lake "$OUT/lake" --chain $C --level entity --window 3650d --no-label-features \
  -o "$OUT/partial.parquet" > /dev/null
"$LF" -q model train --features "$OUT/partial.parquet" --id entity --label label --trees "$TREES" \
  --seed 1 --threads "$THREADS" -o "$OUT/model" > /dev/null
K=${K:-10}
"$LF" -q model predict --model "$OUT/model" --features "$OUT/partial.parquet" --id entity \
  --unlabelled label --keep entity_address -o "$OUT/unlabelled.csv" 2> /dev/null
python3 - "$OUT" "$K" <<'PY'
import csv, sys
out, k = sys.argv[1], int(sys.argv[2])
role = {r["address"]: r["category"] for r in csv.DictReader(open(f"{out}/roles.csv"))}
rows = list(csv.DictReader(open(f"{out}/unlabelled.csv")))
print(f"== look-alikes among the {len(rows)} unlabelled entities (half the owners of each role hidden)")
print(f"{'class':<9} {'hidden':>6} {'P@'+str(k):>6} {'R-prec':>6}  top 5 (entity:true role/p)")
for c in ["exchange", "gambling", "miner", "coinjoin"]:
    ranked = sorted(rows, key=lambda r: (-float(r[f"p_{c}"]), int(r["entity"])))
    truth = [role.get(r["entity_address"], "?") for r in ranked]
    n = sum(1 for t in truth if t == c)
    pk = sum(1 for t in truth[:k] if t == c) / k
    rp = sum(1 for t in truth[:n] if t == c) / max(n, 1)
    top = " ".join(f"{r['entity']}:{t}/{float(r[f'p_{c}']):.2f}" for r, t in zip(ranked[:5], truth))
    print(f"{c:<9} {n:>6} {pk:>6.2f} {rp:>6.2f}  {top}")
PY
