"""Peers of `ledgerflow model` on the same tables: scikit-learn's RandomForestClassifier and
XGBoost's XGBClassifier, plus the data preparation and the scoring every tool shares.

  ml_peer.py prep SRC OUTDIR [--test-fraction F] [--split-seed S]
      The Kaggle Ethereum fraud table: drop the row-number column and `Index` (Index
      restarts per class and leaks the label), lower-case the addresses, drop repeated and
      malformed addresses (first kept), split address-disjoint by a seeded SHA-256 of the
      address (the rule of `ledgerflow model evaluate --split group`), write train.csv
      and test.csv (token-name text columns kept; the tools exclude them) and big.csv
      (the test rows repeated, for prediction timing). Prints counts as JSON.
  ml_peer.py sklearn|xgboost TRAIN TEST BIG --trees N --seed S --threads T [--depth D]
      Trains on TRAIN, scores TEST (F1 of class 1), times batch prediction on BIG (best of
      3) and single-row calls on TEST rows. JSON.
  ml_peer.py f1 TEST PREDICTIONS
      F1 of class 1 of a ledgerflow prediction file (CSV: Address, prediction, ...).
"""

import csv
import hashlib
import json
import math
import re
import struct
import sys
import time

TEXT_COLUMNS = {"ERC20 most sent token type", "ERC20_most_rec_token_type"}


def group_unit(seed, group):
    h = hashlib.sha256(struct.pack("<Q", seed) + group.encode()).digest()
    return (struct.unpack("<Q", h[:8])[0] >> 11) / float(1 << 53)


def prep(src, out, test_fraction=0.3, split_seed=1):
    with open(src, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    keep = [i for i, n in enumerate(header) if n.strip() not in ("", "Index")]
    addr = header.index("Address")
    seen, train, test = set(), [], []
    repeated = malformed = 0
    for r in rows[1:]:
        a = r[addr].strip().lower()
        if not re.fullmatch(r"0x[0-9a-f]{40}", a):
            malformed += 1
            continue
        if a in seen:
            repeated += 1
            continue
        seen.add(a)
        r[addr] = a
        (test if group_unit(split_seed, a) < test_fraction else train).append([r[i] for i in keep])
    hdr = [header[i] for i in keep]
    for name, part in (("train", train), ("test", test), ("big", test * 50)):
        with open(f"{out}/{name}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(hdr)
            w.writerows(part)
    flag = hdr.index("FLAG")
    print(json.dumps({
        "train_rows": len(train), "test_rows": len(test), "big_rows": 50 * len(test),
        "train_fraud": sum(r[flag] == "1" for r in train),
        "test_fraud": sum(r[flag] == "1" for r in test),
        "repeated_dropped": repeated, "malformed_dropped": malformed,
    }))


def load(path):
    import numpy as np
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    feats = [i for i, n in enumerate(header) if n not in ("Address", "FLAG") and n.strip() not in TEXT_COLUMNS]
    x = np.array([[float(r[i]) if r[i].strip() not in ("", "NA", "NaN", "nan") else math.nan for i in feats] for r in rows[1:]])
    y = np.array([int(r[header.index("FLAG")]) for r in rows[1:]])
    ids = [r[header.index("Address")] for r in rows[1:]]
    return x, y, ids


def f1_of(y, pred):
    tp = sum(1 for a, b in zip(y, pred) if a == 1 and b == 1)
    fp = sum(1 for a, b in zip(y, pred) if a == 0 and b == 1)
    fn = sum(1 for a, b in zip(y, pred) if a == 1 and b == 0)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def peer(kind, train, test, big, trees, seed, threads, depth):
    xtr, ytr, _ = load(train)
    xte, yte, _ = load(test)
    xbig, _, _ = load(big)
    if kind == "sklearn":
        from sklearn.ensemble import RandomForestClassifier
        m = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=threads,
                                   max_depth=depth)
    else:
        from xgboost import XGBClassifier
        m = XGBClassifier(n_estimators=trees, max_depth=depth or 6, learning_rate=0.1,
                          tree_method="hist", max_bin=256, n_jobs=threads, random_state=seed,
                          reg_lambda=1.0, min_child_weight=1.0)
    t0 = time.perf_counter()
    m.fit(xtr, ytr)
    train_s = time.perf_counter() - t0
    pred = m.predict(xte)
    f1 = f1_of(list(yte), [int(p) for p in pred])
    predict_s = math.inf
    for _ in range(3):
        t1 = time.perf_counter()
        m.predict_proba(xbig)
        predict_s = min(predict_s, time.perf_counter() - t1)
    # One row per call, as a service answering single requests would (one thread: the
    # peer's fastest setting for a single row).
    m.set_params(n_jobs=1)
    single = min(500, len(xte))
    t2 = time.perf_counter()
    for i in range(single):
        m.predict_proba(xte[i:i + 1])
    single_us = (time.perf_counter() - t2) / single * 1e6
    print(json.dumps({"f1": f1, "train_s": train_s, "predict_s": predict_s,
                      "predict_rows": len(xbig), "us_per_row": predict_s / len(xbig) * 1e6,
                      "single_us_per_row": single_us}))


def f1_file(test, preds):
    with open(test, newline="") as f:
        r = csv.DictReader(f)
        truth = {row["Address"]: int(row["FLAG"]) for row in r}
    with open(preds, newline="") as f:
        p = {row["Address"]: int(row["prediction"]) for row in csv.DictReader(f)}
    ids = sorted(truth)
    print(json.dumps({"f1": f1_of([truth[i] for i in ids], [p[i] for i in ids]), "rows": len(ids)}))


def main():
    a = sys.argv[1:]
    opt = lambda name, default: type(default)(a[a.index(name) + 1]) if name in a else default
    if a[0] == "prep":
        prep(a[1], a[2], opt("--test-fraction", 0.3), opt("--split-seed", 1))
    elif a[0] in ("sklearn", "xgboost"):
        depth = opt("--depth", 0) or None
        peer(a[0], a[1], a[2], a[3], opt("--trees", 100), opt("--seed", 0), opt("--threads", 2), depth)
    elif a[0] == "f1":
        f1_file(a[1], a[2])
    else:
        sys.exit(f"unknown command {a[0]}")


if __name__ == "__main__":
    main()
