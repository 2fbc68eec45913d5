//! Contract bytecode analysis: function selectors and token-standard detection.
//!
//! ethereum-etl takes the `PUSH4` operands of the first basic block, which is where old
//! solc put its whole dispatcher; modern solc (0.5+, and via-IR) jumps away before it and
//! also splits the dispatcher into a binary search, so ethereum-etl finds nothing there.
//! ledgerflow takes the union of (a) the `PUSH4`s of the first basic block (so old
//! contracts get exactly ethereum-etl's list) and (b) every `PUSH4` that a selector
//! comparison consumes anywhere in the code: `PUSH4 x EQ`, `PUSH4 x DUPn EQ`, `PUSH4 x GT`
//! and `PUSH4 x LT` (the dispatcher's equality tests and binary-search pivots).

use std::sync::OnceLock;

use alloy_primitives::keccak256;
use ledgerflow_core::tables::evm::{ContractRow, TraceRow};

const PUSH1: u8 = 0x60;
const PUSH4: u8 = 0x63;
const PUSH32: u8 = 0x7f;
const JUMPDEST: u8 = 0x5b;
const EQ: u8 = 0x14;
const GT: u8 = 0x11;
const LT: u8 = 0x10;
const DUP1: u8 = 0x80;
const DUP16: u8 = 0x8f;

/// The sorted, de-duplicated function selectors found in runtime bytecode (`0x`-hex).
pub fn function_sighashes(code: &[u8]) -> Vec<String> {
    // decode into (opcode, operand) pairs
    let mut ops: Vec<(u8, &[u8])> = Vec::with_capacity(code.len() / 2);
    let mut pc = 0usize;
    while pc < code.len() {
        let op = code[pc];
        if (PUSH1..=PUSH32).contains(&op) {
            let n = (op - PUSH1 + 1) as usize;
            let end = (pc + 1 + n).min(code.len());
            ops.push((op, &code[pc + 1..end]));
            pc = pc + 1 + n;
        } else {
            ops.push((op, &[]));
            pc += 1;
        }
    }
    let mut out: Vec<[u8; 4]> = Vec::new();
    let sel = |operand: &[u8]| -> Option<[u8; 4]> { operand.try_into().ok() };
    // (a) first basic block
    for (op, operand) in &ops {
        if *op == JUMPDEST {
            break;
        }
        if *op == PUSH4 {
            if let Some(s) = sel(operand) {
                out.push(s);
            }
        }
    }
    // (b) selector comparisons anywhere
    for (k, (op, operand)) in ops.iter().enumerate() {
        if *op != PUSH4 {
            continue;
        }
        let next = ops.get(k + 1).map(|o| o.0);
        let after = ops.get(k + 2).map(|o| o.0);
        let is_cmp = matches!(next, Some(EQ) | Some(GT) | Some(LT))
            || (matches!(next, Some(d) if (DUP1..=DUP16).contains(&d)) && after == Some(EQ));
        if is_cmp {
            if let Some(s) = sel(operand) {
                out.push(s);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out.iter().map(|s| format!("0x{}", alloy_primitives::hex::encode(s))).collect()
}

/// The 4-byte selector of a function signature, `0x`-hex.
pub fn selector(signature: &str) -> String {
    let h = keccak256(signature.as_bytes());
    format!("0x{}", alloy_primitives::hex::encode(&h[..4]))
}

struct Standards {
    erc20: Vec<String>,
    erc721: Vec<String>,
    erc721_any: Vec<String>,
    erc1155: Vec<String>,
}

fn standards() -> &'static Standards {
    static S: OnceLock<Standards> = OnceLock::new();
    S.get_or_init(|| {
        let v = |xs: &[&str]| xs.iter().map(|x| selector(x)).collect::<Vec<_>>();
        Standards {
            erc20: v(&[
                "totalSupply()",
                "balanceOf(address)",
                "transfer(address,uint256)",
                "transferFrom(address,address,uint256)",
                "approve(address,uint256)",
                "allowance(address,address)",
            ]),
            erc721: v(&["balanceOf(address)", "ownerOf(uint256)", "approve(address,uint256)"]),
            erc721_any: v(&["transfer(address,uint256)", "transferFrom(address,address,uint256)"]),
            erc1155: v(&[
                "safeTransferFrom(address,address,uint256,uint256,bytes)",
                "safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)",
                "balanceOf(address,uint256)",
                "balanceOfBatch(address[],uint256[])",
                "setApprovalForAll(address,bool)",
                "isApprovedForAll(address,address)",
            ]),
        }
    })
}

/// ethereum-etl's ERC-20 rule: all six ERC-20 functions are present.
pub fn is_erc20(sighashes: &[String]) -> bool {
    standards().erc20.iter().all(|s| sighashes.contains(s))
}

/// ethereum-etl's ERC-721 rule (loose enough for CryptoKitties).
pub fn is_erc721(sighashes: &[String]) -> bool {
    let s = standards();
    s.erc721.iter().all(|x| sighashes.contains(x)) && s.erc721_any.iter().any(|x| sighashes.contains(x))
}

/// All six ERC-1155 functions are present.
pub fn is_erc1155(sighashes: &[String]) -> bool {
    standards().erc1155.iter().all(|s| sighashes.contains(s))
}

/// A `contracts` row for a successful `create` trace (None for other traces).
pub fn contract_row(t: &TraceRow) -> Option<ContractRow> {
    if t.trace_type != "create" || t.status != Some(1) {
        return None;
    }
    let address = t.to_address.clone().filter(|a| !a.is_empty())?;
    let code = t.output.as_deref().and_then(|c| crate::hex::bytes_of(c).ok()).unwrap_or_default();
    let sighashes = if code.is_empty() { Vec::new() } else { function_sighashes(&code) };
    Some(ContractRow {
        address,
        bytecode: t.output.clone(),
        is_erc20: Some(is_erc20(&sighashes)),
        is_erc721: Some(is_erc721(&sighashes)),
        is_erc1155: Some(is_erc1155(&sighashes)),
        function_sighashes: sighashes,
        block_timestamp: t.block_timestamp,
        block_number: t.block_number,
        block_hash: t.block_hash.clone(),
        chain_id: t.chain_id,
        transaction_hash: t.transaction_hash.clone(),
        creator_address: t.from_address.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        assert_eq!(selector("transfer(address,uint256)"), "0xa9059cbb");
        assert_eq!(selector("balanceOf(address)"), "0x70a08231");
    }

    #[test]
    fn modern_dispatcher() {
        // PUSH1 80 PUSH1 40 MSTORE CALLVALUE DUP1 ISZERO PUSH2 000f JUMPI ... JUMPDEST
        // then: DUP1 PUSH4 a9059cbb GT PUSH2 .. JUMPI DUP1 PUSH4 70a08231 EQ PUSH2 .. JUMPI
        let mut code = vec![0x60, 0x80, 0x60, 0x40, 0x52, 0x34, 0x80, 0x15, 0x61, 0x00, 0x0f, 0x57, 0x5b];
        code.extend([0x80, 0x63, 0xa9, 0x05, 0x9c, 0xbb, 0x11, 0x61, 0x00, 0x20, 0x57]);
        code.extend([0x80, 0x63, 0x70, 0xa0, 0x82, 0x31, 0x14, 0x61, 0x00, 0x30, 0x57]);
        // a PUSH4 used as an error selector (followed by SHL-ish stuff) is not a function
        code.extend([0x63, 0x4e, 0x48, 0x7b, 0x71, 0x60, 0xe0, 0x1b]);
        assert_eq!(function_sighashes(&code), vec!["0x70a08231", "0xa9059cbb"]);
    }

    #[test]
    fn truncated_push_does_not_panic() {
        assert!(function_sighashes(&[0x63, 0x01]).is_empty());
        assert!(function_sighashes(&[0x7f]).is_empty());
    }
}
