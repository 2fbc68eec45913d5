//! The committed contract artifacts (ABI and creation bytecode) and helpers to deploy and
//! call them.

use alloy_primitives::keccak256;
use ledgerflow_evm::abi::{self, Value};

const ARTIFACTS: &str = include_str!("../contracts/artifacts.json");
/// Chainlink's `Operator` and `LinkToken` (unchanged, from @chainlink/contracts) and the
/// `ChainlinkClient` consumer, compiled with solc-js 0.8.19 (the Operator's pin).
const CHAINLINK_ARTIFACTS: &str = include_str!("../contracts/chainlink/artifacts.json");

/// The contracts a deployment consists of, in deployment order.
pub const CONTRACTS: [&str; 5] = [
    "LedgerflowRegistry",
    "LicenceNFT",
    "LedgerflowOracle",
    "RiskGatedVault",
    "AggregateSettlement",
];

/// An error of the oracle's contract side.
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    /// The committed artifacts lack a contract or are damaged.
    #[error("contract artifacts: {0}")]
    Artifact(String),
}

/// One compiled contract.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub name: String,
    pub abi: serde_json::Value,
    pub bytecode: Vec<u8>,
}

/// The artifact of contract `name`.
pub fn artifact(name: &str) -> Result<Artifact, OracleError> {
    let mut c = serde_json::Value::Null;
    for file in [ARTIFACTS, CHAINLINK_ARTIFACTS] {
        let all: serde_json::Value = serde_json::from_str(file)
            .map_err(|e| OracleError::Artifact(format!("not JSON: {e}")))?;
        if !all["contracts"][name].is_null() {
            c = all["contracts"][name].clone();
            break;
        }
    }
    let c = &c;
    let hex = c["bytecode"]
        .as_str()
        .ok_or_else(|| OracleError::Artifact(format!("no contract {name}")))?;
    let bytecode = alloy_primitives::hex::decode(hex)
        .map_err(|e| OracleError::Artifact(format!("{name}: bytecode: {e}")))?;
    if bytecode.is_empty() {
        return Err(OracleError::Artifact(format!(
            "{name} is abstract (no bytecode)"
        )));
    }
    Ok(Artifact {
        name: name.to_string(),
        abi: c["abi"].clone(),
        bytecode,
    })
}

/// Creation code with constructor arguments.
pub fn creation(name: &str, args: &[Value]) -> Result<Vec<u8>, OracleError> {
    let mut data = artifact(name)?.bytecode;
    data.extend(abi::encode(args));
    Ok(data)
}

/// The id of a job type: `keccak256("ledgerflow.job." + name)` (`sql`, `score`, `train`,
/// …), what requests carry as `jobId`.
pub fn job_id(name: &str) -> [u8; 32] {
    keccak256(format!("ledgerflow.job.{name}").as_bytes()).0
}

/// The reason of a Solidity `Error(string)` revert.
pub fn revert_reason(data: &[u8]) -> Option<String> {
    let body = data.strip_prefix(&abi::selector("Error(string)")[..])?;
    match abi::decode(&[abi::Type::String], body).ok()?.first()? {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_contract_has_code_and_reasons_decode() {
        for c in CONTRACTS
            .iter()
            .chain(&["Operator", "LinkToken", "LedgerflowChainlinkConsumer"])
        {
            let a = artifact(c).unwrap();
            assert!(a.bytecode.len() > 100, "{c}");
            assert!(a.abi.as_array().is_some_and(|v| !v.is_empty()), "{c}");
        }
        assert!(artifact("ILicence").is_err(), "interfaces have no code");
        let mut data = abi::selector("Error(string)").to_vec();
        data.extend(abi::encode(&[Value::String("Oracle: expired".into())]));
        assert_eq!(revert_reason(&data).as_deref(), Some("Oracle: expired"));
        assert_eq!(revert_reason(b"\x01\x02"), None);
        assert_ne!(job_id("sql"), job_id("score"));
    }
}
