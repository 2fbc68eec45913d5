//! Contract bytecode analysis: function selectors and token-standard detection.
//!
//! ethereum-etl takes the `PUSH4` operands of the first basic block, which is where old
//! solc put its whole dispatcher; modern solc (0.5+, and via-IR) jumps away before it and
//! also splits the dispatcher into a binary search, so ethereum-etl finds nothing there.
//! ledgerflow takes the union of (a) the `PUSH4`s of the first basic block (so old
//! contracts get exactly ethereum-etl's list) and (b) the selector comparisons of the
//! dispatcher anywhere in the code that is *reachable* from the entry point through static
//! jumps: `DUP1 PUSH4|PUSH3 x EQ|GT|LT` (a selector with a leading zero byte is pushed with
//! `PUSH3`) and the older `PUSH4 x DUPn EQ`. Reachability matters: a factory carries the
//! creation code of the contracts it deploys as data, whose dispatchers must not count.

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

const JUMP: u8 = 0x56;
const JUMPI: u8 = 0x57;
const PUSH3: u8 = 0x62;
const TERMINATORS: [u8; 5] = [0x00, 0xf3, 0xfd, 0xfe, 0xff]; // STOP RETURN REVERT INVALID SELFDESTRUCT

/// The sorted, de-duplicated function selectors found in runtime bytecode (`0x`-hex).
pub fn function_sighashes(code: &[u8]) -> Vec<String> {
    // decode into (pc, opcode, operand)
    let mut ops: Vec<(usize, u8, &[u8])> = Vec::with_capacity(code.len() / 2);
    let mut pc = 0usize;
    while pc < code.len() {
        let op = code[pc];
        if (PUSH1..=PUSH32).contains(&op) {
            let n = (op - PUSH1 + 1) as usize;
            let end = (pc + 1 + n).min(code.len());
            // a PUSH cut off by the end of the code is not an instruction
            ops.push(if end - (pc + 1) == n {
                (pc, op, &code[pc + 1..end])
            } else {
                (pc, 0xfe, &[])
            });
            pc = pc + 1 + n;
        } else {
            ops.push((pc, op, &[]));
            pc += 1;
        }
    }
    let mut out: Vec<[u8; 4]> = Vec::new();
    let sel = |operand: &[u8]| -> Option<[u8; 4]> {
        (operand.len() <= 4 && !operand.is_empty()).then(|| {
            let mut s = [0u8; 4];
            s[4 - operand.len()..].copy_from_slice(operand);
            s
        })
    };
    // (a) first basic block
    for (_, op, operand) in &ops {
        if *op == JUMPDEST {
            break;
        }
        if *op == PUSH4 {
            out.extend(sel(operand));
        }
    }
    // (b) reachability through static jumps
    let index: std::collections::HashMap<usize, usize> =
        ops.iter().enumerate().map(|(i, o)| (o.0, i)).collect();
    let mut reachable = vec![false; ops.len()];
    let mut work = vec![0usize];
    while let Some(mut i) = work.pop() {
        while i < ops.len() && !reachable[i] {
            reachable[i] = true;
            let op = ops[i].1;
            if op == JUMP || op == JUMPI {
                if let Some(prev) = i.checked_sub(1).map(|p| ops[p]) {
                    if (PUSH1..=PUSH32).contains(&prev.1) && prev.2.len() <= 8 {
                        let target = prev
                            .2
                            .iter()
                            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
                        if let Some(&t) = index.get(&target) {
                            if ops[t].1 == JUMPDEST {
                                work.push(t);
                            }
                        }
                    }
                }
                if op == JUMP {
                    break;
                }
            } else if TERMINATORS.contains(&op) {
                break;
            }
            i += 1;
        }
    }
    for (k, (_, op, operand)) in ops.iter().enumerate() {
        if !reachable[k] || !(*op == PUSH4 || *op == PUSH3) {
            continue;
        }
        let prev = k.checked_sub(1).map(|p| ops[p].1);
        let next = ops.get(k + 1).map(|o| o.1);
        let after = ops.get(k + 2).map(|o| o.1);
        let dispatcher = prev == Some(DUP1) && matches!(next, Some(EQ) | Some(GT) | Some(LT));
        let old_style = *op == PUSH4
            && matches!(next, Some(d) if (DUP1..=DUP16).contains(&d))
            && after == Some(EQ);
        if dispatcher || old_style {
            out.extend(sel(operand));
        }
    }
    out.sort_unstable();
    out.dedup();
    out.iter()
        .map(|s| format!("0x{}", alloy_primitives::hex::encode(s)))
        .collect()
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
            erc721: v(&[
                "balanceOf(address)",
                "ownerOf(uint256)",
                "approve(address,uint256)",
            ]),
            erc721_any: v(&[
                "transfer(address,uint256)",
                "transferFrom(address,address,uint256)",
            ]),
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
    s.erc721.iter().all(|x| sighashes.contains(x))
        && s.erc721_any.iter().any(|x| sighashes.contains(x))
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
    let code = t
        .output
        .as_deref()
        .and_then(|c| crate::hex::bytes_of(c).ok())
        .unwrap_or_default();
    let sighashes = if code.is_empty() {
        Vec::new()
    } else {
        function_sighashes(&code)
    };
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
        // PUSH1 80 PUSH1 40 MSTORE CALLVALUE DUP1 ISZERO PUSH2 000d JUMPI INVALID | JUMPDEST(13)
        let mut code = vec![
            0x60, 0x80, 0x60, 0x40, 0x52, 0x34, 0x80, 0x15, 0x61, 0x00, 0x0d, 0x57, 0xfe, 0x5b,
        ];
        // DUP1 PUSH4 a9059cbb GT PUSH1 0 JUMPI
        code.extend([0x80, 0x63, 0xa9, 0x05, 0x9c, 0xbb, 0x11, 0x60, 0x00, 0x57]);
        // DUP1 PUSH4 70a08231 EQ PUSH1 0 JUMPI
        code.extend([0x80, 0x63, 0x70, 0xa0, 0x82, 0x31, 0x14, 0x60, 0x00, 0x57]);
        // DUP1 PUSH3 fdd58e EQ  (selector 0x00fdd58e)
        code.extend([0x80, 0x62, 0xfd, 0xd5, 0x8e, 0x14, 0x60, 0x00, 0x57]);
        // a PUSH4 used as an error selector is not a function
        code.extend([0x63, 0x4e, 0x48, 0x7b, 0x71, 0x60, 0xe0, 0x1b, 0x00]);
        // unreachable data after STOP: an embedded contract's dispatcher
        code.extend([0x80, 0x63, 0x18, 0x16, 0x0d, 0xdd, 0x14]);
        assert_eq!(
            function_sighashes(&code),
            vec!["0x00fdd58e", "0x70a08231", "0xa9059cbb"]
        );
    }

    #[test]
    fn truncated_push_does_not_panic() {
        assert!(function_sighashes(&[0x63, 0x01]).is_empty());
        assert!(function_sighashes(&[0x7f]).is_empty());
    }
}
