"""The peer side of bench/entities.sh.

  entities_peer.py cluster INPUTS.parquet MAPPING.parquet [MAX_ID]   graphsense-clustering on
                                  the same input lists; writes its partition
  entities_peer.py pagerank EDGES.parquet                   python-igraph's PageRank
Prints one JSON line (seconds, peak RSS).
"""
import json
import resource
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq


def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cluster(inputs, mapping, max_id=None):
    import gs_clustering

    t = pq.read_table(inputs)
    col = t.column("inputs").combine_chunks()
    values = col.values
    if max_id is None:
        max_id = int(pa.compute.max(values).as_py())
    before = rss()
    start = time.perf_counter()
    c = gs_clustering.Clustering(max_address_id=max_id)
    c.process_transactions_arrow(col)
    m = c.get_mapping()
    secs = time.perf_counter() - start
    ids = m.column(1)
    pq.write_table(pa.table({"cluster_id": ids}), mapping, compression="zstd")
    print(json.dumps({"tool": "graphsense-clustering", "transactions": len(col), "max_address_id": max_id,
                      "cluster_seconds": secs, "transactions_per_second": len(col) / secs,
                      "peak_rss_bytes": rss(), "rss_before_clustering": before}))


def pagerank(edges):
    import igraph

    t = pq.read_table(edges)
    src = t.column("src").to_numpy()
    dst = t.column("dst").to_numpy()
    w = t.column("weight").to_numpy()
    n = int(max(src.max(), dst.max())) + 1
    start = time.perf_counter()
    g = igraph.Graph(n=n, edges=list(zip(src.tolist(), dst.tolist())), directed=True)
    build = time.perf_counter() - start
    start = time.perf_counter()
    pr = g.pagerank(weights=w.tolist(), damping=0.85, directed=True, implementation="prpack")
    secs = time.perf_counter() - start
    top = max(range(n), key=lambda i: pr[i])
    print(json.dumps({"tool": "python-igraph " + igraph.__version__, "nodes": n, "edges": len(src),
                      "build_seconds": build, "pagerank_seconds": secs, "top_node": top,
                      "peak_rss_bytes": rss()}))


if __name__ == "__main__":
    if sys.argv[1] == "cluster":
        cluster(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None)
    elif sys.argv[1] == "pagerank":
        pagerank(sys.argv[2])
    else:
        sys.exit("usage: entities_peer.py cluster IN OUT | pagerank EDGES")
