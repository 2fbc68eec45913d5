#!/usr/bin/env bash
# Recompiles crates/{devnet,evm}/contracts/*.sol with the pinned solc-js and writes the
# committed artifacts (ABI + creation bytecode) to artifacts.json next to the sources: the
# devnet's workload contracts, the export's BatchStaticCall (token metadata reads), the
# odd tokens of the CLI tests and the oracle's contracts; then, with solc-js 0.8.19,
# Chainlink's Operator and LINK token (unchanged, from @chainlink/contracts) and the
# oracle's ChainlinkClient consumer (crates/oracle/contracts/chainlink).
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
node - <<'JS'
const fs = require('fs');
const path = require('path');
const solc = require('./.tools/node_modules/solc-0.8.19');
const dir = 'crates/oracle/contracts/chainlink';
const pkg = fs.readdirSync('.tools/chainlink').sort().pop();
const root = `.tools/chainlink/${pkg}/package/`;
const sources = {};
for (const f of fs.readdirSync(dir).filter(f => f.endsWith('.sol')).sort()) {
  sources[f] = { content: fs.readFileSync(`${dir}/${f}`, 'utf8') };
}
function findImports(p) {
  let file = path.join(dir, p);
  if (p.startsWith('@chainlink/contracts/')) file = p.replace(/^@chainlink\/contracts\//, root);
  const oz = p.match(/^@openzeppelin\/contracts@([0-9.]+)\/(.*)$/);
  if (oz) file = `.tools/chainlink/${pkg}/oz-${oz[1]}/package/${oz[2]}`;
  try { return { contents: fs.readFileSync(file, 'utf8') }; } catch (e) { return { error: `not found: ${p}` }; }
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'paris',
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (out.errors || []).filter(e => e.severity === 'error');
if (errors.length) { console.error(errors.map(e => e.formattedMessage).join('\n')); process.exit(1); }
const keep = ['Operator', 'LinkToken', 'LedgerflowChainlinkConsumer'];
const artifacts = { compiler: 'solc-js ' + solc.version(), chainlink: pkg, contracts: {} };
for (const file of Object.keys(out.contracts).sort()) {
  for (const name of Object.keys(out.contracts[file]).sort()) {
    if (!keep.includes(name)) continue;
    const c = out.contracts[file][name];
    artifacts.contracts[name] = { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
  }
}
fs.writeFileSync(`${dir}/artifacts.json`, JSON.stringify(artifacts, null, 1) + '\n');
console.error(`${dir}: compiled ${Object.keys(artifacts.contracts).length} contracts with ${artifacts.compiler} (@chainlink/contracts ${pkg})`);
JS
