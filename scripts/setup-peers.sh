#!/usr/bin/env bash
# Installs pinned peer tools into virtual environments under .tools/ (idempotent).
#
#   scripts/setup-peers.sh etl     ethereum-etl 2.4.2 (Python 3.10) -> .tools/venv-etl
#   scripts/setup-peers.sh etlpg   ethereum-etl 2.4.2 + its Postgres streaming extras
#                                  (SQLAlchemy 1.4.0, pg8000 1.16.6)  -> .tools/venv-etlpg
#   scripts/setup-peers.sh cryo    cryo 0.3.2                       -> .tools/venv-cryo
#   scripts/setup-peers.sh btcetl  bitcoin-etl 1.5.2                -> .tools/venv-btcetl
#   scripts/setup-peers.sh explorer bitcoin-explorer 1.2.21         -> .tools/venv-explorer
#   scripts/setup-peers.sh readers  duckdb 2.0.1 + pyarrow 26.0.1 + nats-py 2.9.0 (the NATS
#                                   consumer example)              -> .tools/venv-readers
#   scripts/setup-peers.sh graph    networkx 3.6.1 + graphsense-clustering 0.2.0 + python-igraph
#                                   1.0.0 (graph and clustering comparisons) -> .tools/venv-graph
#   scripts/setup-peers.sh ml       scikit-learn 1.9.1 + xgboost-cpu 3.2.0 (the tree-model
#                                   comparisons)                    -> .tools/venv-ml
#   scripts/setup-peers.sh kernels  GraKeL 0.1.10 (numpy 1.26.4: its compiled parts predate
#                                   numpy 2) for the WL kernel comparison -> .tools/venv-kernels
#   scripts/setup-peers.sh pyg      torch 2.5.1 + torch-geometric 2.6.1 (PyPI's torch wheel
#                                   pulls the CUDA libraries: ~5 GB, minutes; bench/ only,
#                                   never CI)                       -> .tools/venv-pyg
#   scripts/setup-peers.sh delta    deltalake 1.6.6 + duckdb 1.5.5 with its delta extension
#                                   (duckdb-extension-delta 1.5.5)  -> .tools/venv-delta
#
# Pins (every transitive package) are in bench/requirements-*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local want="$1"
  for p in "python$want" "$HOME/.pyenv/versions/$want"*/bin/python"$want" "/usr/bin/python$want"; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys' >/dev/null 2>&1; then
      command -v "$p"
      return 0
    fi
  done
  return 1
}

install() {
  local name="$1" python_version="$2" req="bench/requirements-$1.txt" venv=".tools/venv-$1"
  local stamp="$venv/.installed-$(sha256sum "$req" | cut -c1-16)"
  if [ -f "$stamp" ]; then
    return 0
  fi
  local py
  py=$(find_python "$python_version") || { echo "setup-peers: Python $python_version not found" >&2; exit 1; }
  echo "setup-peers: installing $name into $venv with $py" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$req" >&2
  touch "$stamp"
}

for what in "$@"; do
  case "$what" in
    etl) install etl 3.10 ;;
    etlpg) install etlpg 3.10 ;;
    cryo) install cryo 3.11 ;;
    btcetl) install btcetl 3.11 ;;
    explorer) install explorer 3.11 ;;
    readers) install readers 3.11 ;;
    delta) install delta 3.11 ;;
    graph) install graph 3.11 ;;
    ml) install ml 3.11 ;;
    kernels) install kernels 3.11 ;;
    pyg) install pyg 3.11 ;;
    *) echo "setup-peers: unknown peer $what (etl, etlpg, cryo, btcetl, explorer, readers, delta, graph, ml, kernels, pyg)" >&2; exit 2 ;;
  esac
done
