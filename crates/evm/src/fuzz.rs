//! Entry points for fuzzing the decoders (used by the cargo-fuzz targets in `fuzz/` and by
//! the seeded smoke tests that run in every `cargo test`). Each takes arbitrary bytes and
//! must never panic: bad input is an error value, not a crash.

use ledgerflow_core::tables::evm::LogRow;

use crate::json::{GethTxTrace, ParityTrace, RpcBlock, RpcReceipt};
use crate::transform::{self, BlockData, BlockTraces, EvmRows, Want};

/// A block answer (+ optional receipts and traces answers separated by `\n`) through the
/// whole transform.
pub fn block_answers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let Some(Ok(block)) = parts.next().map(serde_json::from_str::<RpcBlock>) else {
        return;
    };
    let receipts = parts
        .next()
        .and_then(|r| serde_json::from_str::<Vec<RpcReceipt>>(r).ok());
    let traces = parts.next().and_then(|t| {
        serde_json::from_str::<Vec<ParityTrace>>(t)
            .map(BlockTraces::Parity)
            .or_else(|_| serde_json::from_str::<Vec<GethTxTrace>>(t).map(BlockTraces::Geth))
            .ok()
    });
    let number = block
        .number
        .as_ref()
        .and_then(|q| q.u64().ok())
        .unwrap_or(0);
    let mut d = BlockData {
        block,
        receipts,
        traces,
    };
    let mut out = EvmRows::default();
    let _ = transform::transform_block(1, number, &mut d, &Want::all(), &mut out);
}

/// Runtime bytecode through selector detection.
pub fn bytecode(data: &[u8]) {
    let s = transform::bytecode::function_sighashes(data);
    let _ = (
        transform::bytecode::is_erc20(&s),
        transform::bytecode::is_erc721(&s),
        transform::bytecode::is_erc1155(&s),
    );
}

/// An `eth_call` answer through the token metadata decoders.
pub fn token_answer(data: &[u8]) {
    let _ = transform::tokens::decode_text(data);
    let _ = transform::tokens::decode_uint8(data);
    let _ = transform::tokens::decode_uint256(data);
}

/// ABI data through the strict decoder, under a type list chosen by the first byte
/// (static, dynamic and nested types); what decodes must encode back to the same bytes
/// or to a canonical form that decodes to the same values.
pub fn abi_data(data: &[u8]) {
    use crate::abi::{decode, encode, Type};
    const TYPES: &[&str] = &[
        "uint256",
        "address,uint8,bool",
        "string",
        "bytes,uint256[]",
        "(uint64,string)[]",
        "bytes4[3],int16",
        "(bool,bytes)[2],address[]",
        "string[],(uint256,(bytes32,string))",
    ];
    let (sel, rest) = match data.split_first() {
        Some((s, r)) => (*s as usize % TYPES.len(), r),
        None => return,
    };
    let Ok(types) = Type::parse_list(TYPES[sel]) else {
        return;
    };
    if let Ok(values) = decode(&types, rest) {
        let again = encode(&values);
        assert_eq!(
            decode(&types, &again).ok().as_ref(),
            Some(&values),
            "re-encoded values decode to themselves"
        );
    }
}

/// A log (first 32·k bytes: topics, rest: data) through the token transfer decoders.
pub fn transfer_log(data: &[u8]) {
    let k = (data.first().copied().unwrap_or(0) % 5) as usize;
    let body = data.get(1..).unwrap_or(&[]);
    let topics: Vec<String> = body
        .chunks(32)
        .take(k)
        .map(|c| format!("0x{}", alloy_primitives::hex::encode(c)))
        .collect();
    let rest = body.get(32 * k..).unwrap_or(&[]);
    let mut topics = topics;
    if let (Some(first), Some(sel)) = (topics.first_mut(), data.get(1)) {
        // steer the first topic to the known events most of the time
        *first = match sel % 4 {
            0 => transform::logs::TRANSFER_TOPIC.to_string(),
            1 => transform::logs::TRANSFER_SINGLE_TOPIC.to_string(),
            2 => transform::logs::TRANSFER_BATCH_TOPIC.to_string(),
            _ => first.clone(),
        };
    }
    let log = LogRow {
        topics,
        data: Some(format!("0x{}", alloy_primitives::hex::encode(rest))),
        address: Some("0x00".into()),
        ..Default::default()
    };
    let mut out = Vec::new();
    transform::logs::token_transfers(&log, &mut out);
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    const BLOCK: &str = r#"{"number":"0x1","hash":"0x0000000000000000000000000000000000000000000000000000000000000002","parentHash":"0x0000000000000000000000000000000000000000000000000000000000000001","timestamp":"0x10","gasUsed":"0x5208","gasLimit":"0x1c9c380","miner":"0x0000000000000000000000000000000000000001","transactions":[{"hash":"0x00000000000000000000000000000000000000000000000000000000000000aa","nonce":"0x0","from":"0x0000000000000000000000000000000000000003","to":"0x0000000000000000000000000000000000000004","value":"0xde0b6b3a7640000","gas":"0x5208","gasPrice":"0x1","input":"0x","type":"0x0","transactionIndex":"0x0"}]}
[{"transactionHash":"0x00000000000000000000000000000000000000000000000000000000000000aa","transactionIndex":"0x0","cumulativeGasUsed":"0x5208","gasUsed":"0x5208","status":"0x1","logs":[{"logIndex":"0x0","address":"0x0000000000000000000000000000000000000005","data":"0x0000000000000000000000000000000000000000000000000000000000000001","topics":["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef","0x0000000000000000000000000000000000000000000000000000000000000003","0x0000000000000000000000000000000000000000000000000000000000000004"]}]}]
[{"action":{"from":"0x0000000000000000000000000000000000000003","to":"0x0000000000000000000000000000000000000004","value":"0x1","gas":"0x0","input":"0x","callType":"call"},"result":{"gasUsed":"0x0","output":"0x"},"subtraces":0,"traceAddress":[],"transactionHash":"0x00000000000000000000000000000000000000000000000000000000000000aa","transactionPosition":0,"type":"call"}]"#;

    #[test]
    fn template_is_valid() {
        let mut parts = BLOCK.splitn(3, '\n');
        let block: RpcBlock = serde_json::from_str(parts.next().unwrap()).unwrap();
        let receipts: Vec<RpcReceipt> = serde_json::from_str(parts.next().unwrap()).unwrap();
        let traces: Vec<ParityTrace> = serde_json::from_str(parts.next().unwrap()).unwrap();
        let mut d = BlockData {
            block,
            receipts: Some(receipts),
            traces: Some(BlockTraces::Parity(traces)),
        };
        let mut out = EvmRows::default();
        transform::transform_block(1, 1, &mut d, &Want::all(), &mut out).unwrap();
        assert_eq!(
            (
                out.transactions.len(),
                out.logs.len(),
                out.token_transfers.len(),
                out.traces.len()
            ),
            (1, 1, 1, 1)
        );
    }

    /// Seeded mutation smoke test: byte flips, truncations and splices of a valid answer,
    /// and random bytes for the binary decoders. Reproduce a failure with SEED=<n>.
    #[test]
    fn decoders_never_panic() {
        let seed = std::env::var("SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x1ed6e2u64);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let alphabet = b"0123456789abcdefxz\"[]{},:-. nul";
        for _ in 0..10_000 {
            let mut b = BLOCK.as_bytes().to_vec();
            for _ in 0..rng.gen_range(1..6) {
                let i = rng.gen_range(0..b.len());
                match rng.gen_range(0..3) {
                    0 => b[i] = alphabet[rng.gen_range(0..alphabet.len())],
                    1 => b.truncate(i),
                    _ => {
                        let j = rng.gen_range(0..b.len().max(1));
                        let piece = b[j.min(i)..j.max(i)].to_vec();
                        b.splice(i..i, piece);
                    }
                }
                if b.is_empty() {
                    break;
                }
            }
            block_answers(&b);
        }
        for _ in 0..10_000 {
            let n = rng.gen_range(0..300);
            let mut b: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            if rng.gen_bool(0.5) && b.len() > 40 {
                // plausible ABI heads: small offsets and lengths
                b[31] = rng.gen_range(0..96);
                b[..31].fill(0);
            }
            bytecode(&b);
            token_answer(&b);
            transfer_log(&b);
            abi_data(&b);
        }
    }
}
