"""Reads {"max_id": N, "txs": [[input address ids], ...]} on stdin; prints graphsense-clustering's
cluster id for every address id 0..=N as a JSON list."""
import json
import sys

import gs_clustering
import pyarrow as pa

d = json.load(sys.stdin)
c = gs_clustering.Clustering(max_address_id=d["max_id"])
c.process_transactions_arrow(pa.array(d["txs"], type=pa.list_(pa.uint32())))
m = c.get_mapping()
ids = m.column(0).to_pylist()
clusters = m.column(1).to_pylist()
out = [None] * (d["max_id"] + 1)
for a, k in zip(ids, clusters):
    out[a] = k
print(json.dumps(out))
