//! Logs and the token transfers decoded from them.
//!
//! ERC-20/ERC-721 `Transfer` logs are decoded exactly as ethereum-etl does: the topics and
//! the 32-byte words of `data` together must be four values (signature, from, to,
//! value-or-token-id). ERC-1155 `TransferSingle` and `TransferBatch` (which ethereum-etl
//! ignores) are decoded too; a log that does not have the standard shape is skipped with a
//! warning, never guessed at.

use alloy_primitives::U256;
use ledgerflow_core::tables::evm::{LogRow, TokenTransferRow};

use super::{BlockInfo, Ctx, EvmRows, Want};
use crate::error::EvmError;
use crate::json::RpcReceipt;

/// `keccak256("Transfer(address,address,uint256)")`
pub const TRANSFER_TOPIC: &str =
    "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
/// `keccak256("TransferSingle(address,address,address,uint256,uint256)")`
pub const TRANSFER_SINGLE_TOPIC: &str =
    "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62";
/// `keccak256("TransferBatch(address,address,address,uint256[],uint256[])")`
pub const TRANSFER_BATCH_TOPIC: &str =
    "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb";

pub(super) fn log_rows(
    chain_id: i64,
    info: &BlockInfo,
    r: &mut RpcReceipt,
    i: usize,
    want: &Want,
    out: &mut EvmRows,
) -> Result<(), EvmError> {
    let ctx = Ctx {
        block: info.number,
        method: "receipts",
    };
    for (j, l) in r.logs.iter_mut().enumerate() {
        let f = |name: &str| format!("receipts[{i}].logs[{j}].{name}");
        let topics = std::mem::take(&mut l.topics)
            .into_iter()
            .enumerate()
            .map(|(k, t)| {
                crate::hex::data_owned(t).map_err(|reason| EvmError::Decode {
                    block: info.number,
                    method: "receipts".into(),
                    field: f(&format!("topics[{k}]")),
                    reason,
                })
            })
            .collect::<Result<Vec<String>, _>>()?;
        let row = LogRow {
            log_index: ctx.req_i64(&l.log_index, || f("logIndex"))?,
            transaction_hash: ctx.take_req_hash(
                &mut l
                    .transaction_hash
                    .take()
                    .or_else(|| r.transaction_hash.clone()),
                || f("transactionHash"),
            )?,
            transaction_index: ctx
                .i64(
                    &l.transaction_index
                        .clone()
                        .or_else(|| r.transaction_index.clone()),
                    || f("transactionIndex"),
                )?
                .unwrap_or(i as i64),
            address: ctx.take_addr(&mut l.address, || f("address"))?,
            data: ctx.take_data(&mut l.data, || f("data"))?,
            topics,
            block_timestamp: info.timestamp,
            block_number: info.number as i64,
            block_hash: info.hash.clone(),
            chain_id,
        };
        if want.token_transfers {
            token_transfers(&row, &mut out.token_transfers);
        }
        if want.logs {
            out.logs.push(row);
        }
    }
    Ok(())
}

/// Splits `0x`-hex data into 32-byte words as ethereum-etl does (the last word may be short).
fn words(data: &str) -> Vec<&str> {
    let h = data.strip_prefix("0x").unwrap_or(data);
    (0..h.len())
        .step_by(64)
        .map(|i| &h[i..(i + 64).min(h.len())])
        .collect()
}

fn word_to_address(w: &str) -> String {
    let h = w.strip_prefix("0x").unwrap_or(w);
    if h.len() >= 40 {
        format!("0x{}", &h[h.len() - 40..]).to_ascii_lowercase()
    } else {
        w.to_ascii_lowercase()
    }
}

fn word_to_dec(w: &str) -> Option<String> {
    let h = w.strip_prefix("0x").unwrap_or(w);
    if h.is_empty() || h.len() > 64 {
        return None;
    }
    U256::from_str_radix(h, 16).ok().map(|v| v.to_string())
}

/// Decodes the token transfers of one log into `out`.
pub fn token_transfers(log: &LogRow, out: &mut Vec<TokenTransferRow>) {
    let Some(topic0) = log.topics.first() else {
        return;
    };
    let data = log.data.as_deref().unwrap_or("0x");
    let base = |from: Option<String>, to: Option<String>, value: Option<String>, standard: &str| {
        TokenTransferRow {
            token_address: log.address.clone().unwrap_or_default(),
            from_address: from,
            to_address: to,
            value,
            transaction_hash: log.transaction_hash.clone(),
            log_index: log.log_index,
            block_timestamp: log.block_timestamp,
            block_number: log.block_number,
            block_hash: log.block_hash.clone(),
            chain_id: log.chain_id,
            token_standard: standard.to_string(),
            token_id: None,
            operator_address: None,
            batch_index: 0,
            transaction_index: log.transaction_index,
        }
    };
    if topic0.eq_ignore_ascii_case(TRANSFER_TOPIC) {
        let mut vals: Vec<&str> = log.topics.iter().map(|s| s.as_str()).collect();
        vals.extend(words(data));
        if vals.len() != 4 {
            tracing::warn!(target: "ledgerflow::evm", block = log.block_number, log_index = log.log_index, tx = %log.transaction_hash,
                "Transfer log with {} topic+data words instead of 4: skipped", vals.len());
            return;
        }
        let Some(value) = word_to_dec(vals[3]) else {
            tracing::warn!(target: "ledgerflow::evm", block = log.block_number, log_index = log.log_index, "Transfer value is not a 256-bit word: skipped");
            return;
        };
        let erc721 = log.topics.len() == 4;
        let mut row = base(
            Some(word_to_address(vals[1])),
            Some(word_to_address(vals[2])),
            Some(value.clone()),
            if erc721 { "erc721" } else { "erc20" },
        );
        if erc721 {
            row.token_id = Some(value);
        }
        out.push(row);
    } else if topic0.eq_ignore_ascii_case(TRANSFER_SINGLE_TOPIC) {
        let w = words(data);
        if log.topics.len() != 4 || w.len() != 2 || w.iter().any(|x| x.len() != 64) {
            tracing::warn!(target: "ledgerflow::evm", block = log.block_number, log_index = log.log_index, "malformed TransferSingle log: skipped");
            return;
        }
        let (Some(id), Some(value)) = (word_to_dec(w[0]), word_to_dec(w[1])) else {
            return;
        };
        let mut row = base(
            Some(word_to_address(&log.topics[2])),
            Some(word_to_address(&log.topics[3])),
            Some(value),
            "erc1155",
        );
        row.token_id = Some(id);
        row.operator_address = Some(word_to_address(&log.topics[1]));
        out.push(row);
    } else if topic0.eq_ignore_ascii_case(TRANSFER_BATCH_TOPIC) {
        let Some((ids, values)) = (log.topics.len() == 4)
            .then(|| decode_two_uint_arrays(data))
            .flatten()
        else {
            tracing::warn!(target: "ledgerflow::evm", block = log.block_number, log_index = log.log_index, "malformed TransferBatch log: skipped");
            return;
        };
        for (k, (id, value)) in ids.into_iter().zip(values).enumerate() {
            let mut row = base(
                Some(word_to_address(&log.topics[2])),
                Some(word_to_address(&log.topics[3])),
                Some(value.to_string()),
                "erc1155",
            );
            row.token_id = Some(id.to_string());
            row.operator_address = Some(word_to_address(&log.topics[1]));
            row.batch_index = k as i64;
            out.push(row);
        }
    }
}

/// ABI-decodes `(uint256[], uint256[])` with bounds checks; `None` if malformed or the
/// arrays differ in length.
pub fn decode_two_uint_arrays(data: &str) -> Option<(Vec<U256>, Vec<U256>)> {
    let bytes = crate::hex::bytes_of(data).ok()?;
    let word = |off: usize| -> Option<U256> {
        bytes
            .get(off..off.checked_add(32)?)
            .map(U256::from_be_slice)
    };
    let small =
        |v: U256| -> Option<usize> { usize::try_from(v).ok().filter(|x| *x <= bytes.len()) };
    let array = |head: usize| -> Option<Vec<U256>> {
        let off = small(word(head)?)?;
        let len = small(word(off)?)?;
        (0..len).map(|k| word(off + 32 + 32 * k)).collect()
    };
    let ids = array(0)?;
    let values = array(32)?;
    (ids.len() == values.len()).then_some((ids, values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    #[test]
    fn topic_constants_are_the_event_hashes() {
        let h = |s: &str| {
            format!(
                "0x{}",
                alloy_primitives::hex::encode(keccak256(s.as_bytes()))
            )
        };
        assert_eq!(h("Transfer(address,address,uint256)"), TRANSFER_TOPIC);
        assert_eq!(
            h("TransferSingle(address,address,address,uint256,uint256)"),
            TRANSFER_SINGLE_TOPIC
        );
        assert_eq!(
            h("TransferBatch(address,address,address,uint256[],uint256[])"),
            TRANSFER_BATCH_TOPIC
        );
    }

    fn w(v: u64) -> String {
        format!("{v:064x}")
    }

    #[test]
    fn batch_arrays() {
        let data = format!(
            "0x{}{}{}{}{}{}{}{}",
            w(64),
            w(160),
            w(2),
            w(7),
            w(8),
            w(2),
            w(100),
            w(200)
        );
        let (ids, vals) = decode_two_uint_arrays(&data).unwrap();
        assert_eq!(ids, vec![U256::from(7), U256::from(8)]);
        assert_eq!(vals, vec![U256::from(100), U256::from(200)]);
        // truncated, huge offsets, mismatched lengths
        assert!(decode_two_uint_arrays(&data[..data.len() - 64]).is_none());
        assert!(decode_two_uint_arrays(&format!("0x{}{}", "f".repeat(64), w(0))).is_none());
        let bad = format!("0x{}{}{}{}{}", w(64), w(128), w(1), w(7), w(0));
        assert!(decode_two_uint_arrays(&bad).is_none());
    }
}
