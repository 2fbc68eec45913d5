#!/usr/bin/env bash
# Recompiles crates/{devnet,evm}/contracts/*.sol with the pinned solc-js and writes the
# committed artifacts (ABI + creation bytecode) to artifacts.json next to the sources: the
# devnet's workload contracts, the export's BatchStaticCall (token metadata reads) and the
# odd tokens of the CLI tests.
# Building ledgerflow never needs this: the artifacts are in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --solc
node - <<'JS'
const fs = require('fs');
const solc = require('./.tools/node_modules/solc');
for (const dir of ['crates/devnet/contracts', 'crates/evm/contracts', 'crates/cli/tests/contracts', 'crates/oracle/contracts']) {
const sources = {};
for (const f of fs.readdirSync(dir).filter(f => f.endsWith('.sol')).sort()) {
  sources[f] = { content: fs.readFileSync(`${dir}/${f}`, 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter(e => e.severity === 'error');
if (errors.length) { console.error(errors.map(e => e.formattedMessage).join('\n')); process.exit(1); }
const artifacts = { compiler: 'solc-js ' + solc.version(), contracts: {} };
for (const file of Object.keys(out.contracts).sort()) {
  for (const name of Object.keys(out.contracts[file]).sort()) {
    const c = out.contracts[file][name];
    artifacts.contracts[name] = { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
  }
}
fs.writeFileSync(`${dir}/artifacts.json`, JSON.stringify(artifacts, null, 1) + '\n');
console.error(`${dir}: compiled ${Object.keys(artifacts.contracts).length} contracts with ${artifacts.compiler}`);
}
JS
