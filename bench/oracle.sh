#!/usr/bin/env bash
# The oracle on a local anvil chain, with a worker in-process (ledgerflow bench oracle):
# requests fulfilled per second and request-to-fulfilment latency (p50/p99) with 1, 10
# and 100 requests outstanding, and the share of the worker's time spent in the job versus
# the chain (following blocks, reading logs, sending and watching transactions); once for
# the `sql` job (tx_count over the lake: a DataFusion query per request) and once for
# `score` (a 100-tree forest's probability for an address).
#
#   bench/oracle.sh                      OUTSTANDING=1,10,100 REQUESTS=200
# Needs a release build (cargo build --release), anvil (scripts/setup.sh) and PostgreSQL
# (LEDGERFLOW_POSTGRES, default postgres://127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
LF=${LF:-target/release/ledgerflow}
OUTSTANDING=${OUTSTANDING:-1,10,100}
REQUESTS=${REQUESTS:-200}
[ -x "$LF" ] || { echo "build first: cargo build --release" >&2; exit 1; }
printf "%-6s %11s %9s %8s %9s %9s %9s\n" job outstanding requests "per s" "p50 ms" "p99 ms" "job share"
for job in sql score; do
  "$LF" -q bench oracle --job "$job" --outstanding "$OUTSTANDING" --requests "$REQUESTS" 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    print("%-6s %11d %9d %8.1f %9.1f %9.1f %9.2f" % (r["job"], r["outstanding"], r["requests"],
          r["fulfilled_per_second"], r["latency_ms_p50"], r["latency_ms_p99"], r["job_share"]))'
done
