#!/usr/bin/env bash
# The test command (README, CI): installs pinned dev tools, checks format, lints,
# dependency direction, then runs every test against real anvil nodes and the shared
# fixtures (../shared, or LEDGERFLOW_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
scripts/setup.sh
export LEDGERFLOW_REQUIRE_ANVIL=1
# ethereum-etl (pinned, ~40 s the first time) for the row-for-row equality test
if scripts/setup-peers.sh etl; then
  export LEDGERFLOW_REQUIRE_ETL=1
else
  echo "WARNING: ethereum-etl could not be installed; the equality test will be skipped" >&2
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
scripts/check-deps.sh
cargo test --workspace --locked "$@"
