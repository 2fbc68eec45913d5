//! Operator actions on a node: deploy the contracts, register datasets and models, make
//! requests. The CLI's `oracle deploy|register|request`, the demo and the benchmark use
//! them.

use std::path::Path;

use alloy_primitives::{Address, B256, U256};
use ledgerflow_evm::abi::{self, Value};
use serde::Serialize;

use crate::events::OracleEvent;
use crate::jobs::{self, DatasetInfo};
use crate::keys::PrivateKey;
use crate::node::{quantity, Node, NodeError};

/// An operator action that failed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Job(#[from] jobs::JobError),
    #[error(transparent)]
    Contract(#[from] crate::OracleError),
    #[error("{0}")]
    Other(String),
}

/// Where the contracts are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    pub chain_id: u64,
    pub oracle: Address,
    pub registry: Address,
    pub licence: Address,
    pub workers: Vec<Address>,
    pub owner: Address,
    pub deployed_block: u64,
}

fn contract_address(receipt: &serde_json::Value) -> Result<Address, OpsError> {
    receipt["contractAddress"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| OpsError::Other("the deployment receipt has no contract address".into()))
}

/// Deploys the registry, the licence NFT and the oracle (owned by `key`) and authorises
/// `workers`.
pub async fn deploy(
    n: &Node,
    key: &PrivateKey,
    workers: &[Address],
) -> Result<Deployment, OpsError> {
    let send = |data: Vec<u8>| n.transact(key, None, U256::ZERO, data);
    let r = send(crate::creation("LedgerflowRegistry", &[])?).await?;
    let registry = contract_address(&r)?;
    let deployed_block = r["blockNumber"].as_str().and_then(quantity).unwrap_or(0) as u64;
    let licence = contract_address(&send(crate::creation("LicenceNFT", &[])?).await?)?;
    let oracle = contract_address(
        &send(crate::creation(
            "LedgerflowOracle",
            &[Value::Address(registry)],
        )?)
        .await?,
    )?;
    for w in workers {
        n.transact(
            key,
            Some(oracle),
            U256::ZERO,
            abi::call(
                "setWorker(address,bool)",
                &[Value::Address(*w), Value::Bool(true)],
            ),
        )
        .await?;
    }
    Ok(Deployment {
        chain_id: n.chain_id().await?,
        oracle,
        registry,
        licence,
        workers: workers.to_vec(),
        owner: key.address(),
        deployed_block,
    })
}

async fn flag(n: &Node, to: Address, sig: &str, root: B256) -> Result<bool, OpsError> {
    Ok(n.view(to, sig, &[Value::FixedBytes(root.to_vec())], "bool")
        .await?[0]
        == Value::Bool(true))
}

/// Registers a dataset root (unless it is already registered); whether it was new.
pub async fn register_dataset_root(
    n: &Node,
    key: &PrivateKey,
    registry: Address,
    root: B256,
    ds: &DatasetInfo,
) -> Result<bool, OpsError> {
    if flag(n, registry, "isDataset(bytes32)", root).await? {
        return Ok(false);
    }
    n.transact(
        key,
        Some(registry),
        U256::ZERO,
        abi::call(
            "registerDataset(bytes32,string,uint64,uint64)",
            &[
                Value::FixedBytes(root.to_vec()),
                Value::String(ds.chain.clone()),
                Value::Uint(U256::from(ds.from_block)),
                Value::Uint(U256::from(ds.to_block)),
            ],
        ),
    )
    .await?;
    Ok(true)
}

/// A registered dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisteredDataset {
    pub root: B256,
    pub chain: String,
    pub from_block: u64,
    pub to_block: u64,
    pub chunks: usize,
    pub new: bool,
}

/// Hashes the lake's chunks of `chain` inside `from..=to` and registers the root.
pub async fn register_dataset(
    n: &Node,
    key: &PrivateKey,
    registry: Address,
    lake: &Path,
    ds: &DatasetInfo,
) -> Result<RegisteredDataset, OpsError> {
    let root = jobs::dataset_root(lake, ds)?;
    let chunks = ledgerflow_lake::hash::hash_blocks(
        &ledgerflow_lake::Lake::new(lake),
        &ds.chain,
        Some(&jobs::chain_tables()),
        ds.from_block,
        ds.to_block,
    )
    .map_err(|e| OpsError::Other(e.to_string()))?
    .chunks
    .len();
    let new = register_dataset_root(n, key, registry, root, ds).await?;
    Ok(RegisteredDataset {
        root,
        chain: ds.chain.clone(),
        from_block: ds.from_block,
        to_block: ds.to_block,
        chunks,
        new,
    })
}

/// A registered model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisteredModel {
    pub model_hash: B256,
    pub manifest_hash: B256,
    pub dataset_root: B256,
    pub licence: Address,
    pub licence_id: u64,
    pub new: bool,
}

fn sha_b256(bytes: &[u8]) -> Result<B256, OpsError> {
    jobs::parse_b256(&ledgerflow_ml::model::sha256_hex(bytes))
        .ok_or_else(|| OpsError::Other("a SHA-256 is not 32 bytes".into()))
}

/// Registers a model folder: its SHA-256, its manifest's, the lake root of its feature
/// table (registered as a dataset first when new), a licence (zero address: none).
pub async fn register_model(
    n: &Node,
    key: &PrivateKey,
    registry: Address,
    dir: &Path,
    licence: Address,
    licence_id: u64,
) -> Result<RegisteredModel, OpsError> {
    // a GNN (`ledgerflow gnn train -o`) or a tree model: the model file's bytes first
    let gnn = dir.join(jobs::GNN_MODEL_FILE);
    let is_gnn = gnn.exists();
    let bytes = if is_gnn {
        let b =
            std::fs::read(&gnn).map_err(|e| OpsError::Other(format!("{}: {e}", gnn.display())))?;
        ledgerflow_gnn::file::GnnModel::from_bytes(&b)
            .map_err(|e| OpsError::Other(format!("{}: {e}", gnn.display())))?;
        b
    } else {
        ledgerflow_ml::model::Model::load(dir)
            .map_err(|e| OpsError::Other(e.to_string()))?
            .1
    };
    let mpath = dir.join(ledgerflow_ml::manifest::MANIFEST_FILE);
    let mbytes =
        std::fs::read(&mpath).map_err(|e| OpsError::Other(format!("{}: {e}", mpath.display())))?;
    let manifest_hash = sha_b256(&mbytes)?;
    // the dataset the model was made from (its root and what the registry records of
    // it), when the lake holds it: a GNN's lake graph, a tree model's feature chunks
    let dataset = if is_gnn {
        let m: serde_json::Value = serde_json::from_slice(&mbytes)
            .map_err(|e| OpsError::Other(format!("{}: {e}", mpath.display())))?;
        let rec: ledgerflow_gnn::edges::SourceRecord =
            serde_json::from_value(m["edges"].clone())
                .map_err(|e| OpsError::Other(format!("{}: edges: {e}", mpath.display())))?;
        match (rec.kind == "lake", rec.chain, rec.blocks) {
            (true, Some(chain), Some((from, to))) => Some((
                rec.sha256,
                DatasetInfo {
                    chain,
                    from_block: from,
                    to_block: to,
                },
            )),
            _ => None,
        }
    } else {
        let manifest = ledgerflow_ml::manifest::Manifest::load(dir)
            .map_err(|e| OpsError::Other(e.to_string()))?;
        manifest.lake.map(|l| {
            let to_block = l.until_block.map_or(0, |b| b.max(0) as u64);
            (
                l.merkle_root,
                DatasetInfo {
                    chain: l.chain,
                    from_block: 0,
                    to_block,
                },
            )
        })
    };
    let model_hash = sha_b256(&bytes)?;
    let mut dataset_root = B256::ZERO;
    if let Some((root, ds)) = dataset {
        dataset_root = jobs::parse_b256(&root)
            .ok_or_else(|| OpsError::Other("the manifest's dataset root is not 32 bytes".into()))?;
        register_dataset_root(n, key, registry, dataset_root, &ds).await?;
    }
    let exists = flag(n, registry, "isModel(bytes32)", model_hash).await?;
    if !exists {
        n.transact(
            key,
            Some(registry),
            U256::ZERO,
            abi::call(
                "registerModel(bytes32,bytes32,bytes32,address,uint256)",
                &[
                    Value::FixedBytes(model_hash.to_vec()),
                    Value::FixedBytes(manifest_hash.to_vec()),
                    Value::FixedBytes(dataset_root.to_vec()),
                    Value::Address(licence),
                    Value::Uint(U256::from(licence_id)),
                ],
            ),
        )
        .await?;
    }
    Ok(RegisteredModel {
        model_hash,
        manifest_hash,
        dataset_root,
        licence,
        licence_id,
        new: !exists,
    })
}

/// A request to make.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub job: B256,
    /// Zero: `request`; otherwise `requestModel`.
    pub model: B256,
    pub params: Vec<u8>,
    pub callback: Address,
    pub selector: [u8; 4],
    /// Seconds from the chain's latest block time.
    pub expires_in: u64,
    pub payment: U256,
}

/// The calldata of a request expiring at `expiry`.
pub fn request_call(r: &NewRequest, expiry: u64) -> Vec<u8> {
    if r.model == B256::ZERO {
        abi::call(
            "request(bytes32,bytes,address,bytes4,uint64)",
            &[
                Value::FixedBytes(r.job.to_vec()),
                Value::Bytes(r.params.clone()),
                Value::Address(r.callback),
                Value::FixedBytes(r.selector.to_vec()),
                Value::Uint(U256::from(expiry)),
            ],
        )
    } else {
        abi::call(
            "requestModel(bytes32,bytes32,bytes,address,bytes4,uint64)",
            &[
                Value::FixedBytes(r.job.to_vec()),
                Value::FixedBytes(r.model.to_vec()),
                Value::Bytes(r.params.clone()),
                Value::Address(r.callback),
                Value::FixedBytes(r.selector.to_vec()),
                Value::Uint(U256::from(expiry)),
            ],
        )
    }
}

/// Makes a request and waits for its receipt; its id and block.
pub async fn request(
    n: &Node,
    key: &PrivateKey,
    oracle: Address,
    r: &NewRequest,
) -> Result<(B256, u64), OpsError> {
    let (now, _) = n.latest_time_and_base_fee().await?;
    let receipt = n
        .transact(
            key,
            Some(oracle),
            r.payment,
            request_call(r, now + r.expires_in),
        )
        .await?;
    let logs = receipt["logs"].as_array().cloned().unwrap_or_default();
    let id = crate::worker::decode_all(&logs)
        .map_err(|e| OpsError::Other(e.to_string()))?
        .into_iter()
        .find_map(|(_, e)| match e {
            OracleEvent::Request(r) => Some(r.request_id),
            _ => None,
        })
        .ok_or_else(|| OpsError::Other("the transaction emitted no Request event".into()))?;
    let block = receipt["blockNumber"]
        .as_str()
        .and_then(quantity)
        .unwrap_or(0) as u64;
    Ok((id, block))
}
