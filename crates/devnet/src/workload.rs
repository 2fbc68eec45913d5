//! The seeded workload generator. The same seed, block count and transactions per block
//! give the same chain (same transactions, same hashes, same state) on a fresh anvil.

use std::collections::BTreeMap;

use alloy_primitives::{keccak256, Address, U256};
use ledgerflow_evm::rpc::Request;
use ledgerflow_evm::{RpcClient, RpcConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};

use crate::DevnetError;
use ledgerflow_evm::abi::{self, Value as Arg};

const ARTIFACTS: &str = include_str!("../contracts/artifacts.json");
/// anvil's first default account (funded at genesis).
pub const DEPLOYER: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

/// Workload settings.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Blocks of workload after the setup blocks.
    pub blocks: u64,
    /// Average transactions per workload block.
    pub txs_per_block: usize,
    /// Number of user accounts.
    pub users: usize,
    /// Timestamp of the first mined block.
    pub start_timestamp: u64,
    /// Seconds between blocks.
    pub block_time: u64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            seed: 42,
            blocks: 100,
            txs_per_block: 20,
            users: 40,
            start_timestamp: 1_700_000_012,
            block_time: 12,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WorkloadSummary {
    /// Last block mined.
    pub head: u64,
    /// Transactions sent (and mined).
    pub transactions: u64,
    /// Transactions expected to fail (status 0).
    pub failed_transactions: u64,
    /// Deployed contracts by name.
    pub contracts: BTreeMap<String, String>,
    /// Count of each action.
    pub actions: BTreeMap<String, u64>,
}

fn bytecode(name: &str) -> Result<Vec<u8>, DevnetError> {
    let v: Value = serde_json::from_str(ARTIFACTS)
        .map_err(|e| DevnetError::Workload(format!("artifacts.json: {e}")))?;
    let hex = v["contracts"][name]["bytecode"]
        .as_str()
        .ok_or_else(|| DevnetError::Workload(format!("no artifact for {name}")))?;
    alloy_primitives::hex::decode(hex)
        .map_err(|e| DevnetError::Workload(format!("artifact {name}: {e}")))
}

fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

#[derive(Clone, Copy)]
enum TxType {
    Legacy,
    AccessList,
    Eip1559,
}

struct Tx {
    from: Address,
    to: Option<Address>,
    value: U256,
    data: Vec<u8>,
    gas: u64,
    expect_fail: bool,
    action: &'static str,
}

/// A workload in progress against one node.
pub struct Workload {
    rpc: RpcClient,
    cfg: WorkloadConfig,
    rng: ChaCha20Rng,
    nonces: BTreeMap<Address, u64>,
    users: Vec<Address>,
    timestamp: u64,
    block: u64,
    contracts: BTreeMap<&'static str, Address>,
    nft_owner: Vec<(U256, usize)>,
    next_nft: u64,
    weth: Vec<U256>,
    salt: u64,
    summary: WorkloadSummary,
}

/// Generates the whole workload on the node at `url`.
pub async fn generate(url: &str, cfg: WorkloadConfig) -> Result<WorkloadSummary, DevnetError> {
    let mut w = Workload::new(url, cfg)?;
    w.setup().await?;
    for _ in 0..w.cfg.blocks {
        w.step().await?;
    }
    Ok(w.summary())
}

impl Workload {
    /// Prepares a workload (nothing is sent yet).
    pub fn new(url: &str, cfg: WorkloadConfig) -> Result<Self, DevnetError> {
        let mut rc = RpcConfig::new(url);
        rc.batch_size = 500;
        rc.max_concurrent_requests = 4;
        let rpc = RpcClient::new(rc)?;
        let users = (0..cfg.users)
            .map(|i| {
                let h = keccak256(format!("ledgerflow-user-{}-{i}", cfg.seed).as_bytes());
                Address::from_slice(&h[12..])
            })
            .collect::<Vec<_>>();
        Ok(Workload {
            rpc,
            rng: ChaCha20Rng::seed_from_u64(cfg.seed),
            nonces: BTreeMap::new(),
            weth: vec![U256::ZERO; users.len()],
            users,
            timestamp: cfg.start_timestamp,
            block: 0,
            contracts: BTreeMap::new(),
            nft_owner: Vec::new(),
            next_nft: 1,
            salt: 0,
            summary: WorkloadSummary::default(),
            cfg,
        })
    }

    /// What has been generated so far.
    pub fn summary(&self) -> WorkloadSummary {
        let mut s = self.summary.clone();
        s.head = self.block;
        s.contracts = self
            .contracts
            .iter()
            .map(|(k, v)| (k.to_string(), format!("{v:#x}")))
            .collect();
        s
    }

    fn deployer() -> Address {
        DEPLOYER.parse().expect("constant address")
    }

    fn c(&self, name: &str) -> Address {
        self.contracts[name]
    }

    async fn nonce_of(&mut self, a: Address) -> Result<u64, DevnetError> {
        if let Some(n) = self.nonces.get(&a) {
            return Ok(*n);
        }
        let raw = self
            .rpc
            .call(
                "eth_getTransactionCount",
                json!([format!("{a:#x}"), "latest"]),
            )
            .await?;
        let s: String =
            serde_json::from_str(raw.get()).map_err(|e| DevnetError::Workload(e.to_string()))?;
        let n = ledgerflow_evm::hex::u64_of(&s).map_err(DevnetError::Workload)?;
        self.nonces.insert(a, n);
        Ok(n)
    }

    /// Sends `txs` in order and mines them into one block; checks they were all included.
    async fn mine(&mut self, txs: Vec<Tx>) -> Result<Vec<String>, DevnetError> {
        let mut reqs = Vec::with_capacity(txs.len());
        for tx in &txs {
            let nonce = self.nonce_of(tx.from).await?;
            self.nonces.insert(tx.from, nonce + 1);
            let ty = match self.rng.gen_range(0..10) {
                0..=2 => TxType::Legacy,
                3 => TxType::AccessList,
                _ => TxType::Eip1559,
            };
            let mut o = json!({
                "from": format!("{:#x}", tx.from),
                "value": format!("{:#x}", tx.value),
                "input": abi::hex(&tx.data),
                "nonce": format!("{nonce:#x}"),
            });
            let mut gas = tx.gas;
            match ty {
                TxType::Legacy => {
                    o["gasPrice"] = json!("0x4a817c800"); // 20 gwei
                }
                TxType::AccessList => {
                    let target = tx.to.unwrap_or(Self::deployer());
                    o["type"] = json!("0x1");
                    o["gasPrice"] = json!("0x4a817c800");
                    o["accessList"] =
                        json!([{"address": format!("{target:#x}"), "storageKeys": []}]);
                    gas += 2_400;
                }
                TxType::Eip1559 => {
                    let tip = self.rng.gen_range(1u64..3) * 1_000_000_000;
                    o["type"] = json!("0x2");
                    o["maxFeePerGas"] = json!(format!("{:#x}", 30_000_000_000u64));
                    o["maxPriorityFeePerGas"] = json!(format!("{tip:#x}"));
                }
            }
            o["gas"] = json!(format!("{gas:#x}"));
            if let Some(to) = tx.to {
                o["to"] = json!(format!("{to:#x}"));
            }
            reqs.push(Request::new("eth_sendTransaction", json!([o])));
            *self
                .summary
                .actions
                .entry(tx.action.to_string())
                .or_default() += 1;
            self.summary.transactions += 1;
            self.summary.failed_transactions += tx.expect_fail as u64;
        }
        let mut hashes = Vec::with_capacity(reqs.len());
        for (i, a) in self.rpc.batch(reqs).await.into_iter().enumerate() {
            let raw = a.map_err(|e| {
                DevnetError::Workload(format!(
                    "block {}: sending transaction {i} ({}): {e}",
                    self.block + 1,
                    txs[i].action
                ))
            })?;
            hashes.push(
                serde_json::from_str::<String>(raw.get())
                    .map_err(|e| DevnetError::Workload(e.to_string()))?,
            );
        }
        self.rpc.call("evm_mine", json!([self.timestamp])).await?;
        self.timestamp += self.cfg.block_time;
        self.block += 1;
        let raw = self
            .rpc
            .call(
                "eth_getBlockByNumber",
                json!([format!("{:#x}", self.block), false]),
            )
            .await?;
        let b: Value =
            serde_json::from_str(raw.get()).map_err(|e| DevnetError::Workload(e.to_string()))?;
        let included = b["transactions"].as_array().map(|a| a.len()).unwrap_or(0);
        if included != hashes.len() {
            return Err(DevnetError::Workload(format!(
                "block {}: sent {} transactions but {} were mined",
                self.block,
                hashes.len(),
                included
            )));
        }
        Ok(hashes)
    }

    async fn receipt_address(&self, hash: &str) -> Result<Address, DevnetError> {
        let raw = self
            .rpc
            .call("eth_getTransactionReceipt", json!([hash]))
            .await?;
        let r: Value =
            serde_json::from_str(raw.get()).map_err(|e| DevnetError::Workload(e.to_string()))?;
        r["contractAddress"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                DevnetError::Workload(format!("deployment {hash} created no contract: {r}"))
            })
    }

    fn deploy(name: &'static str, args: &[Arg]) -> Result<Tx, DevnetError> {
        let mut data = bytecode(name)?;
        data.extend(abi::encode(args));
        Ok(Tx {
            from: Self::deployer(),
            to: None,
            value: U256::ZERO,
            data,
            gas: 3_000_000,
            expect_fail: false,
            action: "deploy",
        })
    }

    fn call(
        from: Address,
        to: Address,
        value: U256,
        sig: &str,
        args: &[Arg],
        gas: u64,
        action: &'static str,
    ) -> Tx {
        Tx {
            from,
            to: Some(to),
            value,
            data: abi::call(sig, args),
            gas,
            expect_fail: false,
            action,
        }
    }

    /// Deploys the contracts and funds the users (a few blocks).
    pub async fn setup(&mut self) -> Result<(), DevnetError> {
        let big = U256::from(10u64).pow(U256::from(27));
        let names: [(&'static str, Vec<Arg>); 8] = [
            (
                "Token20",
                vec![
                    Arg::String("Ledger Dollar".into()),
                    Arg::String("LUSD".into()),
                    Arg::Uint(big),
                ],
            ),
            ("Weth9", vec![]),
            ("Nft721", vec![]),
            ("Multi1155", vec![]),
            ("Lib", vec![]),
            ("Reverter", vec![]),
            ("Factory", vec![]),
            (
                "Token20",
                vec![
                    Arg::String("Bytes Coin".into()),
                    Arg::String("BYC".into()),
                    Arg::Uint(ether(1_000_000)),
                ],
            ),
        ];
        let mut txs = Vec::new();
        for (n, a) in &names {
            txs.push(Self::deploy(n, a)?);
        }
        let hashes = self.mine(txs).await?;
        let keys = [
            "lusd", "weth", "nft", "multi", "lib", "reverter", "factory", "byc",
        ];
        for (k, h) in keys.iter().zip(&hashes) {
            let a = self.receipt_address(h).await?;
            self.contracts.insert(k, a);
        }
        let router = self
            .mine(vec![Self::deploy(
                "Router",
                &[Arg::Address(self.c("lib"))],
            )?])
            .await?;
        let ra = self.receipt_address(&router[0]).await?;
        self.contracts.insert("router", ra);

        // fund users: ETH, tokens, 1155 balances, approvals
        let d = Self::deployer();
        let mut txs = Vec::new();
        for (i, u) in self.users.clone().into_iter().enumerate() {
            txs.push(Tx {
                from: d,
                to: Some(u),
                value: ether(1_000),
                data: vec![],
                gas: 21_000,
                expect_fail: false,
                action: "fund_eth",
            });
            txs.push(Self::call(
                d,
                self.c("lusd"),
                U256::ZERO,
                "mint(address,uint256)",
                &[Arg::Address(u), Arg::Uint(ether(1_000_000))],
                120_000,
                "fund_erc20",
            ));
            txs.push(Self::call(
                d,
                self.c("byc"),
                U256::ZERO,
                "mint(address,uint256)",
                &[Arg::Address(u), Arg::Uint(ether(1_000))],
                120_000,
                "fund_erc20",
            ));
            for id in 1..=4u64 {
                txs.push(Self::call(
                    d,
                    self.c("multi"),
                    U256::ZERO,
                    "mint(address,uint256,uint256)",
                    &[
                        Arg::Address(u),
                        Arg::Uint(U256::from(id)),
                        Arg::Uint(U256::from(1_000_000u64)),
                    ],
                    120_000,
                    "fund_erc1155",
                ));
            }
            let _ = i;
        }
        for chunk in txs
            .chunks(200)
            .map(|c| c.iter().map(clone_tx).collect::<Vec<_>>())
            .collect::<Vec<_>>()
        {
            self.mine(chunk).await?;
        }
        // each user lets the next one spend its LUSD (for transferFrom)
        let mut txs = Vec::new();
        for i in 0..self.users.len() {
            let next = self.users[(i + 1) % self.users.len()];
            txs.push(Self::call(
                self.users[i],
                self.c("lusd"),
                U256::ZERO,
                "approve(address,uint256)",
                &[Arg::Address(next), Arg::Uint(U256::MAX)],
                80_000,
                "approve",
            ));
        }
        self.mine(txs).await?;
        Ok(())
    }

    fn user(&mut self) -> usize {
        self.rng.gen_range(0..self.users.len())
    }

    fn other(&mut self, not: usize) -> usize {
        let n = self.users.len();
        (not + 1 + self.rng.gen_range(0..n - 1)) % n
    }

    /// One workload block.
    pub async fn step(&mut self) -> Result<(), DevnetError> {
        let lo = (self.cfg.txs_per_block / 2).max(1);
        let hi = (self.cfg.txs_per_block * 3 / 2).max(lo + 1);
        let n = if self.rng.gen_range(0..25) == 0 {
            0
        } else {
            self.rng.gen_range(lo..hi)
        };
        let mut txs = Vec::with_capacity(n);
        for _ in 0..n {
            let tx = self.action();
            txs.push(tx);
        }
        self.mine(txs).await?;
        Ok(())
    }

    fn action(&mut self) -> Tx {
        let u = self.user();
        let from = self.users[u];
        let v = self.other(u);
        let to = self.users[v];
        let small = U256::from(self.rng.gen_range(1u64..1_000_000)) * U256::from(1_000_000_000u64);
        let roll = self.rng.gen_range(0..100);
        match roll {
            0..=19 => Tx {
                from,
                to: Some(to),
                value: small,
                data: vec![],
                gas: 21_000,
                expect_fail: false,
                action: "eth_transfer",
            },
            20..=34 => {
                let token = if self.rng.gen_bool(0.7) {
                    self.c("lusd")
                } else {
                    self.c("byc")
                };
                Self::call(
                    from,
                    token,
                    U256::ZERO,
                    "transfer(address,uint256)",
                    &[Arg::Address(to), Arg::Uint(small)],
                    90_000,
                    "erc20_transfer",
                )
            }
            35..=39 => {
                // user u spends from user u-1, which approved it during setup
                let n = self.users.len();
                let owner = self.users[(u + n - 1) % n];
                Self::call(
                    from,
                    self.c("lusd"),
                    U256::ZERO,
                    "transferFrom(address,address,uint256)",
                    &[Arg::Address(owner), Arg::Address(to), Arg::Uint(small)],
                    100_000,
                    "erc20_transfer_from",
                )
            }
            40..=46 => {
                let id = U256::from(self.next_nft);
                self.next_nft += 1;
                self.nft_owner.push((id, u));
                Self::call(
                    from,
                    self.c("nft"),
                    U256::ZERO,
                    "mint(address,uint256)",
                    &[Arg::Address(from), Arg::Uint(id)],
                    120_000,
                    "erc721_mint",
                )
            }
            47..=53 if !self.nft_owner.is_empty() => {
                let k = self.rng.gen_range(0..self.nft_owner.len());
                let (id, owner) = self.nft_owner[k];
                let new_owner = self.other(owner);
                self.nft_owner[k].1 = new_owner;
                let sig = if self.rng.gen_bool(0.5) {
                    "transferFrom(address,address,uint256)"
                } else {
                    "safeTransferFrom(address,address,uint256)"
                };
                Self::call(
                    self.users[owner],
                    self.c("nft"),
                    U256::ZERO,
                    sig,
                    &[
                        Arg::Address(self.users[owner]),
                        Arg::Address(self.users[new_owner]),
                        Arg::Uint(id),
                    ],
                    90_000,
                    "erc721_transfer",
                )
            }
            54..=59 => {
                let id = U256::from(self.rng.gen_range(1u64..=4));
                let amount = U256::from(self.rng.gen_range(1u64..100));
                Self::call(
                    from,
                    self.c("multi"),
                    U256::ZERO,
                    "safeTransferFrom(address,address,uint256,uint256,bytes)",
                    &[
                        Arg::Address(from),
                        Arg::Address(to),
                        Arg::Uint(id),
                        Arg::Uint(amount),
                        Arg::Bytes(vec![]),
                    ],
                    90_000,
                    "erc1155_single",
                )
            }
            60..=63 => {
                let k = self.rng.gen_range(2usize..=4);
                let ids: Vec<U256> = (1..=k as u64).map(U256::from).collect();
                let amounts: Vec<U256> = (0..k)
                    .map(|_| U256::from(self.rng.gen_range(1u64..50)))
                    .collect();
                Self::call(
                    from,
                    self.c("multi"),
                    U256::ZERO,
                    "safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)",
                    &[
                        Arg::Address(from),
                        Arg::Address(to),
                        Arg::uints(ids),
                        Arg::uints(amounts),
                        Arg::Bytes(vec![]),
                    ],
                    150_000,
                    "erc1155_batch",
                )
            }
            64..=68 => {
                self.weth[u] += small;
                Self::call(
                    from,
                    self.c("weth"),
                    small,
                    "deposit()",
                    &[],
                    80_000,
                    "weth_deposit",
                )
            }
            69..=71 if self.weth[u] > U256::ZERO => {
                let amount = self.weth[u];
                self.weth[u] = U256::ZERO;
                Self::call(
                    from,
                    self.c("weth"),
                    U256::ZERO,
                    "withdraw(uint256)",
                    &[Arg::Uint(amount)],
                    80_000,
                    "weth_withdraw",
                )
            }
            72..=75 => {
                let rcpt: Vec<Address> = (0..3)
                    .map(|_| {
                        let k = self.user();
                        self.users[k]
                    })
                    .collect();
                Self::call(
                    from,
                    self.c("router"),
                    small * U256::from(3),
                    "fanout(address[])",
                    &[Arg::addresses(rcpt)],
                    150_000,
                    "internal_value_calls",
                )
            }
            76..=78 => Self::call(
                from,
                self.c("router"),
                U256::ZERO,
                "viaDelegate(uint256)",
                &[Arg::Uint(small)],
                80_000,
                "delegatecall",
            ),
            79..=81 => Self::call(
                from,
                self.c("router"),
                U256::ZERO,
                "tryBoom(address)",
                &[Arg::Address(self.c("reverter"))],
                80_000,
                "reverted_subcall",
            ),
            82..=83 => Self::call(
                from,
                self.c("router"),
                U256::ZERO,
                "peekSupply(address)",
                &[Arg::Address(self.c("lusd"))],
                80_000,
                "staticcall",
            ),
            84..=86 => Self::call(
                from,
                self.c("factory"),
                small,
                "create()",
                &[],
                250_000,
                "factory_create",
            ),
            87..=88 => {
                self.salt += 1;
                let mut salt = [0u8; 32];
                salt[24..].copy_from_slice(&self.salt.to_be_bytes());
                Self::call(
                    from,
                    self.c("factory"),
                    U256::ZERO,
                    "create2(bytes32)",
                    &[Arg::FixedBytes(salt.to_vec())],
                    250_000,
                    "factory_create2",
                )
            }
            89..=90 => Self::call(
                from,
                self.c("factory"),
                small,
                "createAndDestroy(address)",
                &[Arg::Address(to)],
                250_000,
                "create_and_selfdestruct",
            ),
            91 => {
                let k = self.next_nft;
                self.next_nft += 1;
                Self::call(
                    from,
                    self.c("factory"),
                    U256::ZERO,
                    "deployToken(string,string,uint256)",
                    &[
                        Arg::String(format!("Factory Token {k}")),
                        Arg::String(format!("FT{k}")),
                        Arg::Uint(ether(1_000)),
                    ],
                    1_500_000,
                    "factory_token",
                )
            }
            92..=93 => {
                let mut t = Self::call(
                    from,
                    self.c("reverter"),
                    U256::ZERO,
                    "boom()",
                    &[],
                    60_000,
                    "failed_tx_revert",
                );
                t.expect_fail = true;
                t
            }
            94 => {
                let mut t = Self::call(
                    from,
                    self.c("lusd"),
                    U256::ZERO,
                    "transfer(address,uint256)",
                    &[Arg::Address(to), Arg::Uint(small)],
                    23_000,
                    "failed_tx_out_of_gas",
                );
                t.expect_fail = true;
                t
            }
            95 => {
                let k = self.next_nft;
                self.next_nft += 1;
                let mut data = bytecode("Token20").unwrap_or_default();
                data.extend(abi::encode(&[
                    Arg::String(format!("User Token {k}")),
                    Arg::String(format!("UT{k}")),
                    Arg::Uint(ether(500)),
                ]));
                Tx {
                    from,
                    to: None,
                    value: U256::ZERO,
                    data,
                    gas: 1_500_000,
                    expect_fail: false,
                    action: "eoa_deploy",
                }
            }
            _ => Tx {
                from,
                to: Some(self.c("weth")),
                value: small,
                data: vec![],
                gas: 80_000,
                expect_fail: false,
                action: "weth_receive",
            },
        }
    }
}

fn clone_tx(t: &Tx) -> Tx {
    Tx {
        from: t.from,
        to: t.to,
        value: t.value,
        data: t.data.clone(),
        gas: t.gas,
        expect_fail: t.expect_fail,
        action: t.action,
    }
}
