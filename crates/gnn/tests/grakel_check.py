"""GraKeL's Weisfeiler-Lehman subtree kernel (VertexHistogram base, not normalised) of the
graphs on stdin ({"h": rounds, "graphs": [{"labels": [...], "edges": [[a, b], ...]}]}),
printed as {"matrix": [[...]]}."""
import json
import sys

from grakel import Graph
from grakel.kernels import VertexHistogram, WeisfeilerLehman

data = json.load(sys.stdin)
graphs = []
for g in data["graphs"]:
    n = len(g["labels"])
    adj = {v: [] for v in range(n)}
    for a, b in g["edges"]:
        if a != b and b not in adj[a]:
            adj[a].append(b)
            adj[b].append(a)
    graphs.append(Graph(adj, node_labels={v: g["labels"][v] for v in range(n)}))
k = WeisfeilerLehman(n_iter=data["h"], base_graph_kernel=VertexHistogram, normalize=False)
print(json.dumps({"matrix": k.fit_transform(graphs).tolist()}))
