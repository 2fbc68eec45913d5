#!/usr/bin/env bash
# Checks that workspace dependencies point down (docs/architecture.md, "Crates"):
#
#   core  <- rpc <- {evm, bitcoin}          sources
#   core  <- lake <- {sql, postgres, delta} the lake and what reads or loads it
#   stream: the sink traits, the checkpoint and the driver, over the sources
#           (core, rpc, evm, bitcoin); it names no concrete sink
#   sinks:  PostgreSQL, NATS and lake sinks (stream, lake, postgres); only the binary
#           (and the future server) may depend on it: they alone wire concrete sinks
#   devnet: local nodes and workloads (core, rpc, evm, bitcoin)
#   analytics (graph, entities, ml, gnn): core, lake, sql and each other in that
#           order (ml may use graph and entities, gnn all three), never rpc, evm,
#           bitcoin or stream
#   oracle: the stream's follower and metrics, rpc, evm, and the analytics crates (plus
#           what they stand on), never sinks (its PostgreSQL state is its own)
#   server, coming: like the binary
#   ledgerflow (the binary): everything
#   testkit: test-only, depends on no crate of ours and is never a normal dependency
#
# Normal dependencies are checked transitively. Dev-dependencies (what tests may use) are
# checked too: a crate's tests may use its normal dependencies plus what `dev_allowed`
# lists (testkit everywhere; devnet, with the sources it stands on, for the stream, the
# sinks, the oracle, the server and the binary). Every workspace crate needs a rule, so a
# new crate cannot land without one; rules for crates that do not exist yet are kept
# here so they hold from their first commit. Inside each crate, modules must not import
# each other in a circle.
set -euo pipefail
cd "$(dirname "$0")/.."

core="ledgerflow-core"
sources="ledgerflow-rpc ledgerflow-evm ledgerflow-bitcoin"
lakes="ledgerflow-lake ledgerflow-sql ledgerflow-postgres ledgerflow-delta"
declare -A allowed=(
  [ledgerflow-core]=""
  [ledgerflow-testkit]=""
  [ledgerflow-rpc]="$core"
  [ledgerflow-evm]="$core ledgerflow-rpc"
  [ledgerflow-bitcoin]="$core ledgerflow-rpc"
  [ledgerflow-lake]="$core"
  [ledgerflow-sql]="$core ledgerflow-lake"
  [ledgerflow-postgres]="$core ledgerflow-lake"
  [ledgerflow-delta]="$core ledgerflow-lake"
  [ledgerflow-stream]="$core $sources"
  [ledgerflow-sinks]="$core $sources ledgerflow-lake ledgerflow-postgres ledgerflow-stream"
  [ledgerflow-devnet]="$core $sources"
  # analytics (issue 17, 18, 20)
  [ledgerflow-graph]="$core ledgerflow-lake ledgerflow-sql"
  [ledgerflow-entities]="$core ledgerflow-lake ledgerflow-sql ledgerflow-graph"
  [ledgerflow-ml]="$core ledgerflow-lake ledgerflow-sql ledgerflow-graph ledgerflow-entities"
  [ledgerflow-gnn]="$core ledgerflow-lake ledgerflow-sql ledgerflow-graph ledgerflow-entities ledgerflow-ml"
  # oracle (issue 19)
  [ledgerflow-oracle]="$core $sources ledgerflow-stream ledgerflow-lake ledgerflow-sql ledgerflow-graph ledgerflow-entities ledgerflow-ml ledgerflow-gnn"
  # the binary and the explorer's server
  [ledgerflow-server]="$core $sources $lakes ledgerflow-stream ledgerflow-sinks ledgerflow-devnet ledgerflow-graph ledgerflow-entities ledgerflow-ml ledgerflow-gnn ledgerflow-oracle"
  [ledgerflow]="$core $sources $lakes ledgerflow-stream ledgerflow-sinks ledgerflow-devnet ledgerflow-graph ledgerflow-entities ledgerflow-ml ledgerflow-gnn ledgerflow-oracle"
)
devnet="ledgerflow-devnet $core $sources"
declare -A dev_allowed=(
  [ledgerflow-stream]="$devnet"
  [ledgerflow-sinks]="$devnet"
  [ledgerflow-oracle]="$devnet"
  [ledgerflow-server]="$devnet"
  [ledgerflow]="$devnet"
)

ours() { # crate, edge kinds: the crates of ours it reaches (itself excluded)
  cargo tree --locked -p "$1" -e "$2" --prefix none --format '{p}' \
    | awk '{print $1}' | grep '^ledgerflow' | grep -vx "$1" | sort -u || true
}

members=$(cargo metadata --locked --no-deps --format-version 1 \
  | python3 -c 'import json, sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"]))')
status=0
for crate in $members; do
  if [[ ! -v "allowed[$crate]" ]]; then
    echo "dependency direction: no rule for $crate in scripts/check-deps.sh" >&2
    status=1
    continue
  fi
  normal=$(ours "$crate" normal)
  for d in $normal; do
    if ! [[ " ${allowed[$crate]} " == *" $d "* ]]; then
      echo "dependency direction: $crate must not depend on $d" >&2
      status=1
    fi
  done
  for d in $(comm -13 <(echo "$normal") <(ours "$crate" normal,dev)); do
    if ! [[ " ${allowed[$crate]} ledgerflow-testkit ${dev_allowed[$crate]:-} " == *" $d "* ]]; then
      echo "dependency direction: the tests of $crate must not depend on $d" >&2
      status=1
    fi
  done
done
# inside each crate, modules must not import each other in a circle (`use crate::a` in b
# and `use crate::b` in a; test modules are left out)
python3 - <<'PY' || status=1
import glob, os, re, sys
bad = 0
for src in sorted(glob.glob("crates/*/src")):
    files = {}
    for f in glob.glob(src + "/**/*.rs", recursive=True):
        m = os.path.relpath(f, src)[:-3].replace(os.sep, "::")
        m = m[:-5] if m.endswith("::mod") else m
        if m not in ("lib", "main"):
            files[m] = f
    edges = {m: set() for m in files}
    for m, f in files.items():
        text = open(f).read().split("#[cfg(test)]")[0]
        for path in re.findall(r"crate::((?:\w+::)*\w+)", text):
            parts = path.split("::")
            for k in range(len(parts), 0, -1):
                c = "::".join(parts[:k])
                if c in files:
                    if c != m and not m.startswith(c + "::"):
                        edges[m].add(c)
                    break
    state = {}
    def visit(n, stack):
        global bad
        state[n] = 1
        for d in sorted(edges[n]):
            if state.get(d) == 1:
                print(f"module imports: a circle in {src}: " + " -> ".join(stack[stack.index(d):] + [d]), file=sys.stderr)
                bad = 1
            elif d not in state:
                visit(d, stack + [d])
        state[n] = 2
    for m in sorted(files):
        if m not in state:
            visit(m, [m])
sys.exit(bad)
PY

[ $status -eq 0 ] && echo "dependency direction: ok ($(echo "$members" | wc -w) crates, dev-dependencies included; no module circles)" >&2
exit $status
