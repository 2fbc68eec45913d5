#![allow(clippy::unwrap_used)]
//! The oracle contracts on a real anvil node: a request fulfilled into a consumer that
//! acts on it (the vault refuses a high score and takes a low one; the settlement pays
//! the right side), and access control: a fulfil from an unauthorised address, a second
//! fulfil, a fulfil after expiry, a licensed model requested by a non-holder, a cancel
//! before expiry, a result whose hash does not match, an unregistered dataset → reverted
//! with their reasons.

use alloy_primitives::{keccak256, Address, U256};
use ledgerflow_devnet::anvil::{Anvil, AnvilOptions};
use ledgerflow_evm::abi::{self, Value};
use ledgerflow_oracle::{creation, job_id};
use ledgerflow_rpc::{RpcClient, RpcConfig};
use serde_json::{json, Value as Json};

struct Chain {
    rpc: RpcClient,
    accounts: Vec<Address>,
}

impl Chain {
    async fn get<T: serde::de::DeserializeOwned>(&self, method: &'static str, p: Json) -> T {
        let raw = self.rpc.call(method, p).await.unwrap();
        serde_json::from_str(raw.get()).unwrap()
    }

    /// Sends a transaction, mines it and returns its receipt; `Err` with
    /// the node's message when it would revert.
    async fn send(
        &self,
        from: Address,
        to: Option<Address>,
        value: U256,
        data: Vec<u8>,
    ) -> Result<Json, String> {
        let mut tx = json!({
            "from": format!("{from:#x}"),
            "value": format!("{value:#x}"),
            "input": abi::hex(&data),
            "gas": "0x7a1200",
        });
        if let Some(to) = to {
            tx["to"] = json!(format!("{to:#x}"));
            // anvil reports the revert reason on the simulation
            self.rpc
                .call("eth_call", json!([tx.clone(), "latest"]))
                .await
                .map_err(|e| e.to_string())?;
        }
        let hash: String = self.get("eth_sendTransaction", json!([tx])).await;
        let _: Json = self.get("evm_mine", json!([])).await;
        let r: Json = self.get("eth_getTransactionReceipt", json!([hash])).await;
        assert_eq!(r["status"], "0x1", "{r}");
        Ok(r)
    }

    async fn deploy(&self, name: &str, args: &[Value]) -> Address {
        let r = self
            .send(
                self.accounts[0],
                None,
                U256::ZERO,
                creation(name, args).unwrap(),
            )
            .await
            .unwrap();
        r["contractAddress"].as_str().unwrap().parse().unwrap()
    }

    async fn call(&self, to: Address, sig: &str, args: &[Value]) -> Vec<u8> {
        let tx = json!({"to": format!("{to:#x}"), "input": abi::hex(&abi::call(sig, args))});
        let s: String = self.get("eth_call", json!([tx, "latest"])).await;
        alloy_primitives::hex::decode(s).unwrap()
    }

    async fn now(&self) -> u64 {
        let b: Json = self
            .get("eth_getBlockByNumber", json!(["latest", false]))
            .await;
        ledgerflow_evm::hex::u64_of(b["timestamp"].as_str().unwrap()).unwrap()
    }
}

fn b32(x: [u8; 32]) -> Value {
    Value::FixedBytes(x.to_vec())
}

fn request_id(logs: &Json) -> [u8; 32] {
    let topic = abi::event_topic(
        "Request(bytes32,address,bytes32,bytes32,bytes,address,bytes4,uint64,uint256,uint256)",
    );
    let log = logs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["topics"][0].as_str() == Some(&format!("{topic:#x}")))
        .unwrap();
    let t = alloy_primitives::hex::decode(log["topics"][1].as_str().unwrap()).unwrap();
    t.try_into().unwrap()
}

fn expect_revert(r: Result<Json, String>, reason: &str) {
    match r {
        Ok(_) => panic!("expected a revert with {reason:?}"),
        Err(e) => assert!(e.contains(reason), "expected {reason:?}, got {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fulfilments_consumers_and_access_control() {
    let Some(bin) = ledgerflow_testkit::services::or_skip(
        "requests_fulfilments_consumers_and_access_control",
        "ANVIL",
        ledgerflow_devnet::find_anvil(None).map_err(|e| e.to_string()),
    ) else {
        return;
    };
    let anvil = Anvil::start(&bin, &AnvilOptions::default()).await.unwrap();
    let rpc = RpcClient::new(RpcConfig::new(anvil.url())).unwrap();
    let accounts: Vec<String> =
        serde_json::from_str(rpc.call("eth_accounts", json!([])).await.unwrap().get()).unwrap();
    let c = Chain {
        rpc,
        accounts: accounts.iter().map(|a| a.parse().unwrap()).collect(),
    };
    let (owner, worker, alice, bob, stranger) = (
        c.accounts[0],
        c.accounts[1],
        c.accounts[2],
        c.accounts[3],
        c.accounts[4],
    );

    let registry = c.deploy("LedgerflowRegistry", &[]).await;
    let licence = c.deploy("LicenceNFT", &[]).await;
    let oracle = c
        .deploy("LedgerflowOracle", &[Value::Address(registry)])
        .await;
    c.send(
        owner,
        Some(oracle),
        U256::ZERO,
        abi::call(
            "setWorker(address,bool)",
            &[Value::Address(worker), Value::Bool(true)],
        ),
    )
    .await
    .unwrap();
    // a dataset, a free model and a licensed one
    let root = keccak256(b"lake root").0;
    let (model, licensed) = (keccak256(b"model.lfm").0, keccak256(b"licensed.lfm").0);
    c.send(
        owner,
        Some(registry),
        U256::ZERO,
        abi::call(
            "registerDataset(bytes32,string,uint64,uint64)",
            &[
                b32(root),
                Value::String("anvil".into()),
                Value::Uint(U256::ZERO),
                Value::Uint(U256::from(100)),
            ],
        ),
    )
    .await
    .unwrap();
    let reg_model = |m: [u8; 32], lic: Address, id: u64| {
        abi::call(
            "registerModel(bytes32,bytes32,bytes32,address,uint256)",
            &[
                b32(m),
                b32(keccak256(b"manifest").0),
                b32(root),
                Value::Address(lic),
                Value::Uint(U256::from(id)),
            ],
        )
    };
    c.send(
        owner,
        Some(registry),
        U256::ZERO,
        reg_model(model, Address::ZERO, 0),
    )
    .await
    .unwrap();
    c.send(
        owner,
        Some(registry),
        U256::ZERO,
        reg_model(licensed, licence, 7),
    )
    .await
    .unwrap();
    expect_revert(
        c.send(
            owner,
            Some(registry),
            U256::ZERO,
            reg_model(model, Address::ZERO, 0),
        )
        .await,
        "Registry: model exists",
    );

    // the vault: scores above 500 000 (0.5) are refused
    let score_job = job_id("score");
    let vault = c
        .deploy(
            "RiskGatedVault",
            &[
                Value::Address(oracle),
                b32(score_job),
                b32(model),
                Value::Uint(U256::from(500_000)),
            ],
        )
        .await;
    let expiry = c.now().await + 3600;
    let fee = U256::from(10u64).pow(U256::from(15));
    let mut ids = Vec::new();
    for who in [alice, bob] {
        let r = c
            .send(
                who,
                Some(vault),
                fee,
                abi::call("screen(uint64)", &[Value::Uint(U256::from(expiry))]),
            )
            .await
            .unwrap();
        ids.push(request_id(&r["logs"]));
    }
    let fulfil = |id: [u8; 32], result: Vec<u8>, hash: [u8; 32], dataset: [u8; 32], m: [u8; 32]| {
        abi::call(
            "fulfil(bytes32,bytes,bytes32,bytes32,bytes32,bytes32)",
            &[
                b32(id),
                Value::Bytes(result),
                b32(hash),
                b32(dataset),
                b32(m),
                b32(keccak256(b"code").0),
            ],
        )
    };
    let score = |s: u64| abi::encode(&[Value::Uint(U256::from(s))]);
    let ok = |id, s: u64| fulfil(id, score(s), keccak256(score(s)).0, root, model);
    expect_revert(
        c.send(stranger, Some(oracle), U256::ZERO, ok(ids[0], 900_000))
            .await,
        "Oracle: not an authorised worker",
    );
    expect_revert(
        c.send(
            worker,
            Some(oracle),
            U256::ZERO,
            fulfil(ids[0], score(1), keccak256(score(2)).0, root, model),
        )
        .await,
        "Oracle: result hash mismatch",
    );
    expect_revert(
        c.send(
            worker,
            Some(oracle),
            U256::ZERO,
            fulfil(
                ids[0],
                score(1),
                keccak256(score(1)).0,
                keccak256(b"x").0,
                model,
            ),
        )
        .await,
        "Oracle: unknown dataset",
    );
    expect_revert(
        c.send(
            worker,
            Some(oracle),
            U256::ZERO,
            fulfil(ids[0], score(1), keccak256(score(1)).0, root, licensed),
        )
        .await,
        "Oracle: not the requested model",
    );
    c.send(worker, Some(oracle), U256::ZERO, ok(ids[0], 900_000))
        .await
        .unwrap(); // alice: high risk
    c.send(worker, Some(oracle), U256::ZERO, ok(ids[1], 100_000))
        .await
        .unwrap(); // bob: low risk
    expect_revert(
        c.send(worker, Some(oracle), U256::ZERO, ok(ids[0], 1))
            .await,
        "Oracle: already fulfilled",
    );
    expect_revert(
        c.send(
            alice,
            Some(vault),
            U256::from(1000),
            abi::call("deposit()", &[]),
        )
        .await,
        "Vault: risk score above threshold",
    );
    expect_revert(
        c.send(
            stranger,
            Some(vault),
            U256::from(1000),
            abi::call("deposit()", &[]),
        )
        .await,
        "Vault: not screened",
    );
    c.send(
        bob,
        Some(vault),
        U256::from(1000),
        abi::call("deposit()", &[]),
    )
    .await
    .unwrap();
    let bal = c
        .call(vault, "balanceOf(address)", &[Value::Address(bob)])
        .await;
    assert_eq!(abi::word(&bal, 0), Some(U256::from(1000)));
    // the worker earned both payments
    let earned = c
        .call(oracle, "earned(address)", &[Value::Address(worker)])
        .await;
    assert_eq!(abi::word(&earned, 0), Some(fee * U256::from(2)));

    // licences: a non-holder cannot request the licensed model, a holder can
    let req_model = |m: [u8; 32], exp: u64| {
        abi::call(
            "requestModel(bytes32,bytes32,bytes,address,bytes4,uint64)",
            &[
                b32(score_job),
                b32(m),
                Value::Bytes(vec![]),
                Value::Address(vault),
                Value::FixedBytes(vec![0, 0, 0, 0]),
                Value::Uint(U256::from(exp)),
            ],
        )
    };
    expect_revert(
        c.send(alice, Some(oracle), U256::ZERO, req_model(licensed, expiry))
            .await,
        "Oracle: no licence for this model",
    );
    c.send(
        owner,
        Some(licence),
        U256::ZERO,
        abi::call(
            "mint(address,uint256)",
            &[Value::Address(alice), Value::Uint(U256::from(7))],
        ),
    )
    .await
    .unwrap();
    c.send(alice, Some(oracle), U256::ZERO, req_model(licensed, expiry))
        .await
        .unwrap();
    expect_revert(
        c.send(
            alice,
            Some(oracle),
            U256::ZERO,
            req_model(keccak256(b"nope").0, expiry),
        )
        .await,
        "Oracle: unknown model",
    );

    // expiry: no fulfil after it, the requester's cancel only after it, with the refund
    let short = c.now().await + 60;
    let r = c
        .send(
            bob,
            Some(oracle),
            fee,
            abi::call(
                "request(bytes32,bytes,address,bytes4,uint64)",
                &[
                    b32(job_id("sql")),
                    Value::Bytes(vec![1]),
                    Value::Address(vault),
                    Value::FixedBytes(vec![0, 0, 0, 0]),
                    Value::Uint(U256::from(short)),
                ],
            ),
        )
        .await
        .unwrap();
    let id = request_id(&r["logs"]);
    expect_revert(
        c.send(
            bob,
            Some(oracle),
            U256::ZERO,
            abi::call("cancel(bytes32)", &[b32(id)]),
        )
        .await,
        "Oracle: not expired yet",
    );
    c.rpc.call("evm_increaseTime", json!([120])).await.unwrap();
    c.rpc.call("evm_mine", json!([])).await.unwrap();
    let late = fulfil(id, score(1), keccak256(score(1)).0, root, [0; 32]);
    expect_revert(
        c.send(worker, Some(oracle), U256::ZERO, late).await,
        "Oracle: request expired",
    );
    expect_revert(
        c.send(
            alice,
            Some(oracle),
            U256::ZERO,
            abi::call("cancel(bytes32)", &[b32(id)]),
        )
        .await,
        "Oracle: not the requester",
    );
    c.send(
        bob,
        Some(oracle),
        U256::ZERO,
        abi::call("cancel(bytes32)", &[b32(id)]),
    )
    .await
    .unwrap();
    expect_revert(
        c.send(
            bob,
            Some(oracle),
            U256::ZERO,
            abi::call("cancel(bytes32)", &[b32(id)]),
        )
        .await,
        "Oracle: not pending",
    );

    // the settlement pays the side that was right
    let strike = U256::from(20_000_000_000u64); // 20 gwei
    let stake = U256::from(10u64).pow(U256::from(18));
    let settlement = c
        .deploy(
            "AggregateSettlement",
            &[
                Value::Address(oracle),
                b32(job_id("sql")),
                Value::Bytes(b"avg_gas_price:0:100".to_vec()),
                Value::Uint(strike),
                Value::Address(alice),
                Value::Address(bob),
                Value::Uint(stake),
            ],
        )
        .await;
    expect_revert(
        c.send(stranger, Some(settlement), stake, abi::call("fund()", &[]))
            .await,
        "Settlement: not a party",
    );
    for who in [alice, bob] {
        c.send(who, Some(settlement), stake, abi::call("fund()", &[]))
            .await
            .unwrap();
    }
    let exp = c.now().await + 3600;
    let r = c
        .send(
            stranger,
            Some(settlement),
            fee,
            abi::call("settle(uint64)", &[Value::Uint(U256::from(exp))]),
        )
        .await
        .unwrap();
    let id = request_id(&r["logs"]);
    let before: String = c
        .get("eth_getBalance", json!([format!("{alice:#x}"), "latest"]))
        .await;
    let value = abi::encode(&[Value::Uint(U256::from(31_000_000_000u64))]); // 31 gwei: above
    c.send(
        worker,
        Some(oracle),
        U256::ZERO,
        fulfil(id, value.clone(), keccak256(&value).0, root, [0; 32]),
    )
    .await
    .unwrap();
    let after: String = c
        .get("eth_getBalance", json!([format!("{alice:#x}"), "latest"]))
        .await;
    let gain = ledgerflow_evm::hex::u256_of(&after).unwrap()
        - ledgerflow_evm::hex::u256_of(&before).unwrap();
    assert_eq!(
        gain,
        stake * U256::from(2),
        "the 'above' side is paid both stakes"
    );
    let w = c.call(settlement, "winner()", &[]).await;
    assert_eq!(
        abi::word(&w, 0),
        Some(U256::from_be_slice(alice.as_slice()))
    );
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_signed_here_are_accepted_by_the_node() {
    use ledgerflow_oracle::keys::PrivateKey;
    use ledgerflow_oracle::tx::Eip1559;
    let Some(bin) = ledgerflow_testkit::services::or_skip(
        "transactions_signed_here_are_accepted_by_the_node",
        "ANVIL",
        ledgerflow_devnet::find_anvil(None).map_err(|e| e.to_string()),
    ) else {
        return;
    };
    let anvil = Anvil::start(&bin, &AnvilOptions::default()).await.unwrap();
    let c = Chain {
        rpc: RpcClient::new(RpcConfig::new(anvil.url())).unwrap(),
        accounts: Vec::new(),
    };
    // anvil's first development key
    let key = PrivateKey::from_bytes(
        &alloy_primitives::hex::decode(
            "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        )
        .unwrap(),
    )
    .unwrap();
    let chain_id =
        ledgerflow_evm::hex::u64_of(&c.get::<String>("eth_chainId", json!([])).await).unwrap();
    let to: Address = "0x000000000000000000000000000000000000beef"
        .parse()
        .unwrap();
    for (nonce, (dest, value, data)) in [
        (Some(to), U256::from(10u64).pow(U256::from(18)), Vec::new()),
        (
            None,
            U256::ZERO,
            creation("LedgerflowRegistry", &[]).unwrap(),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let tx = Eip1559 {
            chain_id,
            nonce: nonce as u64,
            max_priority_fee_per_gas: 1_000_000_000,
            max_fee_per_gas: 30_000_000_000,
            gas: if dest.is_some() { 21_000 } else { 3_000_000 },
            to: dest,
            value,
            data,
        };
        let signed = tx.sign(&key).unwrap();
        let hash: String = c
            .get("eth_sendRawTransaction", json!([abi::hex(&signed.raw)]))
            .await;
        assert_eq!(
            hash,
            format!("{:#x}", signed.hash),
            "the node computes the same hash"
        );
        let _: Json = c.get("evm_mine", json!([])).await;
        let r: Json = c.get("eth_getTransactionReceipt", json!([hash])).await;
        assert_eq!(r["status"], "0x1", "{r}");
        assert_eq!(r["from"].as_str().unwrap(), format!("{:#x}", key.address()));
        assert_eq!(r["type"], "0x2");
        if dest.is_none() {
            assert!(r["contractAddress"].as_str().is_some());
        }
    }
    let bal: String = c
        .get("eth_getBalance", json!([format!("{to:#x}"), "latest"]))
        .await;
    assert_eq!(
        ledgerflow_evm::hex::u256_of(&bal).unwrap(),
        U256::from(10u64).pow(U256::from(18))
    );
    anvil.stop().await;
}
