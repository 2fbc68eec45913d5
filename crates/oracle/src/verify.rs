//! `oracle verify`: reads a fulfilment back from the chain, recomputes its result from the
//! recorded dataset root, model hash and job parameters with this build's jobs, and says
//! what matches and what differs.

use std::future::Future;
use std::pin::Pin;

use alloy_primitives::{keccak256, Address, B256};
use ledgerflow_evm::abi::{self, Value};
use serde::Serialize;

use crate::events::{self, FulfilledEvent, OracleEvent, RequestEvent};
use crate::jobs::{DatasetInfo, Datasets, JobContext, JobError, JobRequest, Registry};
use crate::node::{Node, NodeError};
use crate::worker::code_version_text;

/// The registry contract as a [`Datasets`] source.
pub struct RegistryDatasets {
    pub node: Node,
    pub registry: Address,
}

impl Datasets for RegistryDatasets {
    fn dataset<'a>(
        &'a self,
        root: B256,
    ) -> Pin<Box<dyn Future<Output = Result<Option<DatasetInfo>, JobError>> + Send + 'a>> {
        Box::pin(async move {
            let v = self
                .node
                .view(
                    self.registry,
                    "datasets(bytes32)",
                    &[Value::FixedBytes(root.to_vec())],
                    "string,uint64,uint64,address,bool",
                )
                .await
                .map_err(|e| JobError(format!("reading the registry: {e}")))?;
            if v[4] != Value::Bool(true) {
                return Ok(None);
            }
            let n = |x: &Value| x.as_uint().map_or(0, |u| u.to::<u64>());
            Ok(Some(DatasetInfo {
                chain: match &v[0] {
                    Value::String(s) => s.clone(),
                    _ => String::new(),
                },
                from_block: n(&v[1]),
                to_block: n(&v[2]),
            }))
        })
    }
}

/// The registry an oracle contract was deployed with.
pub async fn registry_of(node: &Node, oracle: Address) -> Result<Address, NodeError> {
    let v = node.view(oracle, "registry()", &[], "address").await?;
    Ok(v[0].as_address().unwrap_or_default())
}

/// One check of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// What `oracle verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub request_id: String,
    pub job: Option<String>,
    pub fulfilled_block: Option<u64>,
    pub ok: bool,
    pub checks: Vec<Check>,
}

fn check(checks: &mut Vec<Check>, name: &str, ok: bool, detail: String) {
    checks.push(Check {
        name: name.into(),
        ok,
        detail,
    });
}

/// The request and fulfilment events of `id` on the chain.
pub async fn find(
    node: &Node,
    oracle: Address,
    id: B256,
) -> Result<
    (
        Option<(events::LogPlace, RequestEvent)>,
        Option<(events::LogPlace, FulfilledEvent)>,
    ),
    NodeError,
> {
    let head = node.head().await?;
    // one query: either event (topic 0), this request (topic 1)
    let filter = serde_json::json!([{
        "fromBlock": "0x0", "toBlock": format!("{head:#x}"),
        "address": format!("{oracle:#x}"),
        "topics": [[format!("{:#x}", abi::event_topic(events::REQUEST)),
                    format!("{:#x}", abi::event_topic(events::FULFILLED))],
                   format!("{id:#x}")],
    }]);
    let logs = node.get("eth_getLogs", filter).await?;
    let mut req = None;
    let mut ful = None;
    let logs: Vec<serde_json::Value> = logs.as_array().cloned().unwrap_or_default();
    for (p, e) in crate::worker::decode_all(&logs).map_err(|e| NodeError::Answer {
        method: "eth_getLogs".into(),
        reason: e.to_string(),
    })? {
        match e {
            OracleEvent::Request(r) => req = Some((p, r)),
            OracleEvent::Fulfilled(f) => ful = Some((p, f)),
            _ => {}
        }
    }
    Ok((req, ful))
}

/// Verifies the fulfilment of request `id`.
pub async fn verify(
    node: &Node,
    oracle: Address,
    id: B256,
    jobs: &Registry,
    ctx: &JobContext,
    this_code: B256,
) -> Result<Verdict, NodeError> {
    let (req, ful) = find(node, oracle, id).await?;
    let mut checks = Vec::new();
    let mut v = Verdict {
        request_id: format!("{id:#x}"),
        job: None,
        fulfilled_block: None,
        ok: false,
        checks: Vec::new(),
    };
    let Some((_, req)) = req else {
        check(
            &mut checks,
            "request",
            false,
            "no Request event with this id".into(),
        );
        v.checks = checks;
        return Ok(v);
    };
    v.job = jobs.name(&req.job_id).map(String::from);
    let Some((place, f)) = ful else {
        check(
            &mut checks,
            "fulfilment",
            false,
            "the request has no Fulfilled event".into(),
        );
        v.checks = checks;
        return Ok(v);
    };
    v.fulfilled_block = Some(place.block_number);
    let h = keccak256(&f.result);
    check(
        &mut checks,
        "result hash",
        h == f.result_hash,
        format!("keccak256(result) {h:#x}, recorded {:#x}", f.result_hash),
    );
    let recorded = code_version_text(&f.code_version);
    let ours = code_version_text(&this_code);
    check(
        &mut checks,
        "code version",
        true,
        if recorded == ours {
            format!("{recorded} (this build)")
        } else {
            format!("recorded {recorded}, recomputed with {ours}")
        },
    );
    let jr = JobRequest {
        job_id: req.job_id,
        model_hash: req.model_hash,
        params: req.params.clone(),
        requester: req.requester,
    };
    match jobs.run(ctx, &jr).await {
        Err(e) => check(&mut checks, "recompute", false, e.to_string()),
        Ok(out) => {
            check(
                &mut checks,
                "dataset root",
                out.dataset_root == f.dataset_root,
                format!(
                    "recorded {:#x}, this lake {:#x}",
                    f.dataset_root, out.dataset_root
                ),
            );
            check(
                &mut checks,
                "model hash",
                out.model_hash == f.model_hash,
                format!(
                    "recorded {:#x}, recomputed {:#x}",
                    f.model_hash, out.model_hash
                ),
            );
            let same = out.result == f.result;
            check(
                &mut checks,
                "result",
                same,
                if same {
                    format!("{} (identical)", abi::hex(&f.result))
                } else {
                    format!(
                        "on chain {}, recomputed {}",
                        abi::hex(&f.result),
                        abi::hex(&out.result)
                    )
                },
            );
        }
    }
    v.ok = checks.iter().all(|c| c.ok);
    v.checks = checks;
    Ok(v)
}
