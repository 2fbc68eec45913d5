#!/usr/bin/env bash
# Checks that workspace dependencies point down (docs/architecture.md):
# core <- rpc <- {evm, bitcoin}; core <- lake <- {sql, postgres, delta}; stream on sources and sinks; devnet(evm); cli on top; testkit is test-only and
# depends on no crate of ours.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A allowed=(
  [ledgerflow-core]=""
  [ledgerflow-rpc]="ledgerflow-core"
  [ledgerflow-evm]="ledgerflow-core ledgerflow-rpc"
  [ledgerflow-bitcoin]="ledgerflow-core ledgerflow-rpc"
  [ledgerflow-lake]="ledgerflow-core"
  [ledgerflow-sql]="ledgerflow-core ledgerflow-lake"
  [ledgerflow-postgres]="ledgerflow-core ledgerflow-lake"
  [ledgerflow-delta]="ledgerflow-core ledgerflow-lake"
  [ledgerflow-stream]="ledgerflow-core ledgerflow-rpc ledgerflow-evm ledgerflow-bitcoin ledgerflow-lake ledgerflow-postgres"
  [ledgerflow-devnet]="ledgerflow-core ledgerflow-rpc ledgerflow-evm ledgerflow-bitcoin"
  [ledgerflow-testkit]=""
  [ledgerflow]="ledgerflow-core ledgerflow-rpc ledgerflow-evm ledgerflow-bitcoin ledgerflow-lake ledgerflow-sql ledgerflow-postgres ledgerflow-delta ledgerflow-stream ledgerflow-devnet"
)
status=0
for crate in "${!allowed[@]}"; do
  deps=$(cargo tree --locked -p "$crate" -e normal --prefix none --format '{p}' 2>/dev/null \
    | awk '{print $1}' | grep '^ledgerflow' | grep -vx "$crate" | sort -u || true)
  for d in $deps; do
    if ! [[ " ${allowed[$crate]} " == *" $d "* ]]; then
      echo "dependency direction: $crate must not depend on $d" >&2
      status=1
    fi
  done
done
[ $status -eq 0 ] && echo "dependency direction: ok" >&2
exit $status
