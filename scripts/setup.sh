#!/usr/bin/env bash
# Installs the pinned development tools into .tools/ (idempotent; nothing is downloaded
# at test time). Safe to run again: it only installs what is missing or at another version.
#
#   scripts/setup.sh            anvil (needed by the demo and the anvil tests) and
#                               litecoind (Debian's package, for the Bitcoin-family tests)
#   scripts/setup.sh --solc     also solc-js 0.8.28 and 0.8.19 and Chainlink's contracts
#                               (only to recompile the contracts; artifacts are committed)
set -euo pipefail
cd "$(dirname "$0")/.."

ANVIL_PKG="@foundry-rs/anvil-linux-amd64"
ANVIL_VERSION="1.7.1"
SOLC_VERSION="0.8.28"
# Chainlink's Operator is pinned to solc 0.8.19; its package (sources only, no install:
# its dependencies include git tarballs) comes from the npm registry with `npm pack`.
SOLC_CHAINLINK_VERSION="0.8.19"
CHAINLINK_VERSION="1.5.0"

mkdir -p .tools
if [ ! -f .tools/package.json ]; then
  echo '{"name":"ledgerflow-tools","private":true}' > .tools/package.json
fi

installed_version() {
  node -e "try{console.log(require('./.tools/node_modules/$1/package.json').version)}catch(e){}" 2>/dev/null || true
}

need=()
if [ "$(installed_version "$ANVIL_PKG")" != "$ANVIL_VERSION" ]; then
  need+=("$ANVIL_PKG@$ANVIL_VERSION")
fi
if [ "${1:-}" = "--solc" ] && [ "$(installed_version solc)" != "$SOLC_VERSION" ]; then
  need+=("solc@$SOLC_VERSION")
fi
if [ "${1:-}" = "--solc" ] && [ "$(installed_version solc-$SOLC_CHAINLINK_VERSION)" != "$SOLC_CHAINLINK_VERSION" ]; then
  need+=("solc-$SOLC_CHAINLINK_VERSION@npm:solc@$SOLC_CHAINLINK_VERSION")
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} into .tools/" >&2
  (cd .tools && npm install --no-audit --no-fund --loglevel=error --save-exact "${need[@]}" >&2)
fi

if [ "${1:-}" = "--solc" ] && [ ! -f ".tools/chainlink/$CHAINLINK_VERSION/package/package.json" ]; then
  echo "setup: fetching @chainlink/contracts@$CHAINLINK_VERSION (npm pack)" >&2
  mkdir -p ".tools/chainlink/$CHAINLINK_VERSION"
  (cd ".tools/chainlink/$CHAINLINK_VERSION" && npm pack --silent "@chainlink/contracts@$CHAINLINK_VERSION" >/dev/null \
    && tar xzf "chainlink-contracts-$CHAINLINK_VERSION.tgz")
  # the OpenZeppelin versions its sources import as @openzeppelin/contracts@X
  for oz in 4.8.3 4.9.6; do
    mkdir -p ".tools/chainlink/$CHAINLINK_VERSION/oz-$oz"
    (cd ".tools/chainlink/$CHAINLINK_VERSION/oz-$oz" && npm pack --silent "@openzeppelin/contracts@$oz" >/dev/null \
      && tar xzf "openzeppelin-contracts-$oz.tgz")
  done
fi

ANVIL=".tools/node_modules/$ANVIL_PKG/bin/anvil"
chmod +x "$ANVIL" 2>/dev/null || true
"$ANVIL" --version >/dev/null
echo "setup: $("$ANVIL" --version | head -1) at $ANVIL" >&2

# litecoind (Litecoin Core 0.21, a Bitcoin Core fork) from Debian, pinned.
LITECOIND_VERSION="0.21.2.1-1+b1"
if [ "${LEDGERFLOW_SKIP_LITECOIND:-0}" != "1" ]; then
  have=$(dpkg-query -W -f='${Version}' litecoind 2>/dev/null || true)
  if [ "$have" != "$LITECOIND_VERSION" ]; then
    echo "setup: installing litecoind=$LITECOIND_VERSION (apt)" >&2
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "litecoind=$LITECOIND_VERSION" >&2 \
      || { $SUDO apt-get update -q >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "litecoind=$LITECOIND_VERSION" >&2; }
  fi
  echo "setup: $(litecoind -version | head -1) at $(command -v litecoind)" >&2
fi
