"""Reads {"n": N, "edges": [[src, dst, weight], ...]} on stdin; prints networkx's answers
(floats as their repr, which Rust parses exactly)."""
import json
import sys

import networkx as nx

g = json.load(sys.stdin)
G = nx.DiGraph()
G.add_nodes_from(range(g["n"]))
for s, d, w in g["edges"]:
    G.add_edge(s, d, weight=w)
out = {
    "pagerank": [repr(v) for _, v in sorted(nx.pagerank(G, alpha=0.85, tol=1e-13, max_iter=10000, weight="weight").items())],
    "pagerank_unweighted": [repr(v) for _, v in sorted(nx.pagerank(G, alpha=0.85, tol=1e-13, max_iter=10000, weight=None).items())],
    "wcc": sorted(sorted(c) for c in nx.weakly_connected_components(G)),
    "scc": sorted(sorted(c) for c in nx.strongly_connected_components(G)),
    "betweenness": [repr(v) for _, v in sorted(nx.betweenness_centrality(G, normalized=True).items())],
    "version": nx.__version__,
}
print(json.dumps(out))
