#!/usr/bin/env bash
# The test command (README, CI): installs pinned dev tools, checks format, lints,
# dependency direction, then runs every test against real anvil and litecoind nodes and
# the shared fixtures (../shared, or LEDGERFLOW_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
scripts/setup.sh
export LEDGERFLOW_REQUIRE_ANVIL=1
# PostgreSQL on 127.0.0.1:5432 runs on every development and CI machine
export LEDGERFLOW_REQUIRE_POSTGRES="${LEDGERFLOW_REQUIRE_POSTGRES:-1}"
# so does NATS with JetStream on 127.0.0.1:4222 (the streaming tests)
export LEDGERFLOW_REQUIRE_NATS="${LEDGERFLOW_REQUIRE_NATS:-1}"
if [ "${LEDGERFLOW_SKIP_LITECOIND:-0}" != "1" ]; then
  export LEDGERFLOW_REQUIRE_LITECOIND=1
fi
# ethereum-etl and bitcoin-etl (pinned, ~60 s the first time) for the equality tests
if scripts/setup-peers.sh etl btcetl; then
  export LEDGERFLOW_REQUIRE_ETL=1
else
  echo "WARNING: ethereum-etl/bitcoin-etl could not be installed; the equality tests will be skipped" >&2
fi
# DuckDB and pyarrow (pinned wheels, seconds) read the lake back in the SQL tests; delta-rs
# and DuckDB's delta extension (pinned wheels, ~120 MB) read its Delta tables
if scripts/setup-peers.sh readers delta; then
  export LEDGERFLOW_REQUIRE_READERS=1
else
  echo "WARNING: duckdb/pyarrow/deltalake could not be installed; the third-party reader tests will be skipped" >&2
fi
# networkx, graphsense-clustering and python-igraph (pinned wheels, seconds) for the graph
# and clustering comparisons
if scripts/setup-peers.sh graph; then
  export LEDGERFLOW_REQUIRE_GRAPHPEERS=1
else
  echo "WARNING: networkx/graphsense-clustering could not be installed; those comparisons will be skipped" >&2
fi
# GraKeL (pinned wheels, seconds) for the Weisfeiler-Lehman kernel comparison
if scripts/setup-peers.sh kernels; then
  export LEDGERFLOW_REQUIRE_KERNELS=1
else
  echo "WARNING: grakel could not be installed; the WL kernel comparison will be skipped" >&2
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
scripts/check-deps.sh
cargo test --workspace --locked "$@"
