#!/usr/bin/env bash
# The main job end to end on a fresh machine: installs the pinned anvil, builds ledgerflow,
# starts a local chain, fills it with the seeded workload, exports every table into
# ./demo-lake and prints a summary. Extra arguments go to `ledgerflow demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --locked --quiet -p ledgerflow -- demo "$@"
