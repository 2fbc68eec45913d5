#![allow(clippy::unwrap_used)]
//! Chainlink's own contracts on a real anvil node: the LINK token and the `Operator`
//! (unchanged, from @chainlink/contracts), and a consumer built on the unchanged
//! `ChainlinkClient`. A consumer's request pays LINK and becomes an `OracleRequest` event
//! whose CBOR parameters decode to what the consumer wrote; `fulfillOracleRequest2` as
//! ledgerflow encodes it, from an authorised sender, reaches the consumer's callback; a
//! second answer and an unauthorised sender are refused by the Operator.

use alloy_primitives::{Address, B256, I256, U256};
use ledgerflow_devnet::anvil::{Anvil, AnvilOptions};
use ledgerflow_evm::abi::{self, Value};
use ledgerflow_oracle::chainlink::{self, Cbor};
use ledgerflow_oracle::keys::PrivateKey;
use ledgerflow_oracle::node::Node;
use ledgerflow_oracle::{creation, job_id};
use ledgerflow_rpc::{RpcClient, RpcConfig};

use ledgerflow_devnet::anvil::DEV_KEYS as KEYS;

fn key(i: usize) -> PrivateKey {
    PrivateKey::from_hex(KEYS[i]).unwrap()
}

async fn deploy(n: &Node, name: &str, args: &[Value]) -> Address {
    let r = n
        .transact(&key(0), None, U256::ZERO, creation(name, args).unwrap())
        .await
        .unwrap();
    r["contractAddress"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_requests_decode_and_fulfilments_reach_the_consumer() {
    let Some(bin) = ledgerflow_testkit::services::or_skip(
        "operator_requests_decode_and_fulfilments_reach_the_consumer",
        "ANVIL",
        ledgerflow_devnet::find_anvil(None).map_err(|e| e.to_string()),
    ) else {
        return;
    };
    let anvil = Anvil::start(
        &bin,
        &AnvilOptions {
            no_mining: false,
            ..AnvilOptions::default()
        },
    )
    .await
    .unwrap();
    let n = Node::new(RpcClient::new(RpcConfig::new(anvil.url())).unwrap());
    let owner = key(0).address();
    let worker = key(1).address();
    let link = deploy(&n, "LinkToken", &[]).await;
    let operator = deploy(
        &n,
        "Operator",
        &[Value::Address(link), Value::Address(owner)],
    )
    .await;
    let fee = U256::from(10u64).pow(U256::from(17u64)); // 0.1 LINK
    let consumer = deploy(
        &n,
        "LedgerflowChainlinkConsumer",
        &[
            Value::Address(link),
            Value::Address(operator),
            Value::Uint(fee),
        ],
    )
    .await;
    let call = |to: Address, from: usize, sig: &str, args: Vec<Value>| {
        let n = n.clone();
        let sig = sig.to_string();
        async move {
            n.transact(&key(from), Some(to), U256::ZERO, abi::call(&sig, &args))
                .await
        }
    };
    call(
        link,
        0,
        "grantMintRole(address)",
        vec![Value::Address(owner)],
    )
    .await
    .unwrap();
    call(
        link,
        0,
        "mint(address,uint256)",
        vec![
            Value::Address(consumer),
            Value::Uint(fee * U256::from(10u64)),
        ],
    )
    .await
    .unwrap();
    call(
        operator,
        0,
        "setAuthorizedSenders(address[])",
        vec![Value::addresses([worker])],
    )
    .await
    .unwrap();

    // the consumer asks for an sql job through the Operator, paying LINK
    let root = format!("{:#x}", B256::repeat_byte(0xab));
    let r = call(
        consumer,
        2,
        "requestSql(bytes32,string,string,string[],int256[])",
        vec![
            Value::FixedBytes(job_id("sql").to_vec()),
            Value::String("tx_count".into()),
            Value::String(root.clone()),
            Value::Array(vec![
                Value::String("from_block".into()),
                Value::String("to_block".into()),
            ]),
            Value::Array(vec![
                Value::Int(I256::ZERO),
                Value::Int(I256::try_from(39).unwrap()),
            ]),
        ],
    )
    .await
    .unwrap();
    let req = r["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|l| chainlink::decode_request(l).unwrap())
        .expect("an OracleRequest event");
    assert_eq!(req.spec_id, B256::from(job_id("sql")));
    assert_eq!(req.requester, consumer);
    assert_eq!(req.callback, consumer);
    assert_eq!(req.payment, fee);
    assert_eq!(req.selector, abi::selector("fulfill(bytes32,uint256)"));
    assert_eq!(req.data_version, U256::from(2u64), "an operator request");
    let p = chainlink::decode_params(&req.data).unwrap();
    assert_eq!(p["template"], Cbor::Text("tx_count".into()));
    assert_eq!(p["dataset"], Cbor::Text(root));
    assert_eq!(p["from_block"].as_int(), Some(I256::ZERO));
    assert_eq!(p["to_block"].as_int(), Some(I256::try_from(39).unwrap()));
    let last = n
        .view(consumer, "lastRequestId()", &[], "bytes32")
        .await
        .unwrap();
    assert_eq!(last[0].as_bytes().unwrap(), req.request_id.as_slice());

    // the answer, as ledgerflow encodes it
    let answer = abi::encode(&[Value::Uint(U256::from(1234u64))]);
    let data = chainlink::fulfil_call(&req, &answer);
    let e = n
        .transact(&key(2), Some(operator), U256::ZERO, data.clone())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Not authorized sender"), "{e}");
    n.transact(&key(1), Some(operator), U256::ZERO, data.clone())
        .await
        .unwrap();
    let v = n.view(consumer, "value()", &[], "uint256").await.unwrap();
    assert_eq!(v[0].as_uint(), Some(U256::from(1234u64)));
    let e = n
        .transact(&key(1), Some(operator), U256::ZERO, data)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Must have a valid requestId"), "{e}");
    let answers = n.view(consumer, "answers()", &[], "uint256").await.unwrap();
    assert_eq!(answers[0].as_uint(), Some(U256::from(1u64)));
}
