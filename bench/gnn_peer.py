"""PyTorch Geometric side of bench/gnn.sh, and the graphs both sides read.

  gnn_peer.py data OUT --nodes N --degree D --classes K --dim F --seed S
      A stochastic block model: K equal classes, mean degree D (a fifth of each node's
      edges leave its class), F features whose class signal is weak (one class-mean
      shift of 0.3 plus unit noise per feature). Writes OUT/edges.csv (no header:
      source,target), OUT/nodes.csv (id, f0..f{F-1}, label, part: 60 % train, 20 % val,
      20 % test by the seed). Prints the counts as JSON.

  gnn_peer.py train OUT --model gcn|sage --seed S --epochs E --threads T
      PyG's GCNConv / SAGEConv (mean) two-layer networks with ledgerflow's settings:
      hidden 16, Adam lr 0.01, weight decay 5e-4 on the first layer only, dropout 0.5 on
      the hidden layer, the given split, features standardised with the training nodes'
      statistics, every epoch run and the best validation loss's parameters kept. Prints
      test accuracy and milliseconds per epoch as JSON.
"""

import argparse
import json
import sys
import time

import numpy as np


def data(a):
    rng = np.random.default_rng(a.seed)
    n, k = a.nodes, a.classes
    label = np.arange(n) % k
    rng.shuffle(label)
    m = n * a.degree // 2
    src = rng.integers(0, n, m)
    # 80 % of the edges stay in the source's class
    same = rng.random(m) < 0.8
    by_class = [np.flatnonzero(label == c) for c in range(k)]
    dst = rng.integers(0, n, m)
    for c in range(k):
        pick = same & (label[src] == c)
        dst[pick] = rng.choice(by_class[c], pick.sum())
    keep = src != dst
    src, dst = src[keep], dst[keep]
    x = rng.normal(size=(n, a.dim))
    x[:, :] += 0.3 * (label[:, None] == (np.arange(a.dim)[None, :] % k))
    part = rng.choice(["train", "val", "test"], size=n, p=[0.6, 0.2, 0.2])
    with open(f"{a.out}/edges.csv", "w") as f:
        np.savetxt(f, np.stack([src, dst], 1), fmt="%d", delimiter=",")
    with open(f"{a.out}/nodes.csv", "w") as f:
        f.write("id," + ",".join(f"f{i}" for i in range(a.dim)) + ",label,part\n")
        for i in range(n):
            row = ",".join(f"{v:.6f}" for v in x[i])
            f.write(f"{i},{row},c{label[i]},{part[i]}\n")
    print(json.dumps({"nodes": n, "edges": int(len(src)), "classes": k, "dim": a.dim}))


def train(a):
    import torch
    import torch.nn.functional as F
    from torch_geometric.nn import GCNConv, SAGEConv
    from torch_geometric.utils import to_undirected

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    e = np.loadtxt(f"{a.out}/edges.csv", delimiter=",", dtype=np.int64, ndmin=2)
    import csv

    with open(f"{a.out}/nodes.csv") as f:
        rows = list(csv.reader(f))
    head, rows = rows[0], rows[1:]
    fcols = [i for i, h in enumerate(head) if h.startswith("f")]
    ids = {int(r[0]): i for i, r in enumerate(rows)}
    x = np.array([[float(r[i]) for i in fcols] for r in rows])
    classes = sorted({r[-2] for r in rows})
    y = torch.tensor([classes.index(r[-2]) for r in rows])
    part = np.array([r[-1] for r in rows])
    tr, va, te = (torch.tensor(part == p) for p in ("train", "val", "test"))
    mu, sd = x[part == "train"].mean(0), x[part == "train"].std(0)
    sd[sd == 0] = 1
    x = torch.tensor((x - mu) / sd, dtype=torch.float32)
    ei = torch.tensor([[ids[s] for s in e[:, 0]], [ids[t] for t in e[:, 1]]])
    ei = to_undirected(ei)
    ei = ei[:, ei[0] != ei[1]]
    Conv = GCNConv if a.model == "gcn" else SAGEConv

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = Conv(x.shape[1], 16)
            self.conv2 = Conv(16, len(classes))

        def forward(self, x, ei):
            h = F.dropout(F.relu(self.conv1(x, ei)), p=0.5, training=self.training)
            return self.conv2(h, ei)

    model = Net()
    opt = torch.optim.Adam(
        [
            dict(params=model.conv1.parameters(), weight_decay=5e-4),
            dict(params=model.conv2.parameters(), weight_decay=0),
        ],
        lr=0.01,
    )
    best, state = float("inf"), None
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        model.train()
        opt.zero_grad()
        out = model(x, ei)
        F.cross_entropy(out[tr], y[tr]).backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            v = F.cross_entropy(model(x, ei)[va], y[va]).item()
        if v < best:
            best, state = v, {k: t.clone() for k, t in model.state_dict().items()}
    secs = time.perf_counter() - t0
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        pred = model(x, ei).argmax(1)
    acc = (pred[te] == y[te]).float().mean().item()
    print(json.dumps({"accuracy": acc, "epoch_ms": secs * 1e3 / a.epochs, "threads": a.threads}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["data", "train"])
    p.add_argument("out")
    p.add_argument("--nodes", type=int, default=3000)
    p.add_argument("--degree", type=int, default=8)
    p.add_argument("--classes", type=int, default=4)
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--model", default="gcn")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    data(a) if a.what == "data" else train(a)


if __name__ == "__main__":
    sys.exit(main())
