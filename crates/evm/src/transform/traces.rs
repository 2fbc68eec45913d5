//! Traces from `trace_block` (Parity style) and from `debug_traceBlockByNumber` with the
//! `callTracer` (Geth style), into one table with ethereum-etl's semantics:
//!
//! * `status` is 0 for a trace with an error and for every trace below a failed one;
//! * `trace_id` is `{type}_{tx_hash}_{trace_address joined by _}` for transaction traces and
//!   `{type}_{block}_{i}` for block traces (rewards), `i` numbering them in the order of
//!   (reward_type, from, to, value);
//! * Geth frames are flattened depth-first; `CALL`/`STATICCALL`/`DELEGATECALL`/`CALLCODE`
//!   become `trace_type = call` with that `call_type`, `CREATE`/`CREATE2` become `create`,
//!   `SELFDESTRUCT` becomes `suicide`; like Parity, a failed frame has no `gas_used` and no
//!   `output`. Geth does not report block rewards.

use std::collections::HashMap;

use alloy_primitives::U256;
use ledgerflow_core::tables::evm::TraceRow;
use rustc_hash::FxHashMap;

use super::{BlockInfo, Ctx};
use crate::error::EvmError;
use crate::json::{GethFrame, GethTxTrace, ParityTrace};

/// Appends the numbers of `a` to `out`, separated by `sep`.
fn join_into(out: &mut String, a: &[i64], sep: char) {
    use std::fmt::Write;
    for (k, x) in a.iter().enumerate() {
        if k > 0 {
            out.push(sep);
        }
        let _ = write!(out, "{x}");
    }
}

fn addr_str(a: &[i64]) -> String {
    let mut s = String::with_capacity(2 * a.len());
    join_into(&mut s, a, ',');
    s
}

/// Parity-style traces of one block → rows (appended to `out`).
pub fn parity_rows(
    chain_id: i64,
    info: &BlockInfo,
    traces: &mut [ParityTrace],
    out: &mut Vec<TraceRow>,
) -> Result<(), EvmError> {
    let ctx = Ctx {
        block: info.number,
        method: "trace_block",
    };
    let mut rows = Vec::with_capacity(traces.len());
    let mut addrs = Vec::with_capacity(traces.len());
    for (i, t) in traces.iter_mut().enumerate() {
        let f = |name: &str| format!("[{i}].{name}");
        let a = &mut t.action;
        let mut res = t.result.as_mut();
        let mut row = TraceRow {
            transaction_hash: ctx.take_hash(&mut t.transaction_hash, || f("transactionHash"))?,
            transaction_index: t.transaction_position,
            trace_type: if t.trace_type == "selfdestruct" {
                "suicide".into()
            } else {
                std::mem::take(&mut t.trace_type)
            },
            subtraces: t.subtraces,
            trace_address: Some(addr_str(&t.trace_address)),
            error: t.error.take().filter(|e| !e.is_empty()),
            block_timestamp: info.timestamp,
            block_number: info.number as i64,
            block_hash: info.hash.clone(),
            chain_id,
            trace_index: i as i64,
            ..Default::default()
        };
        match row.trace_type.as_str() {
            "call" => {
                row.from_address = ctx.take_addr(&mut a.from, || f("action.from"))?;
                row.to_address = ctx.take_addr(&mut a.to, || f("action.to"))?;
                row.value = ctx.dec(&a.value, || f("action.value"))?;
                row.gas = ctx.i64(&a.gas, || f("action.gas"))?;
                row.gas_used = res
                    .as_deref_mut()
                    .map(|r| ctx.i64(&r.gas_used, || f("result.gasUsed")))
                    .transpose()?
                    .flatten();
                row.call_type = a.call_type.take();
                row.input = ctx.take_data(&mut a.input, || f("action.input"))?;
                row.output = res
                    .as_deref_mut()
                    .map(|r| ctx.take_data(&mut r.output, || f("result.output")))
                    .transpose()?
                    .flatten();
            }
            "create" => {
                row.from_address = ctx.take_addr(&mut a.from, || f("action.from"))?;
                row.value = ctx.dec(&a.value, || f("action.value"))?;
                row.gas = ctx.i64(&a.gas, || f("action.gas"))?;
                row.gas_used = res
                    .as_deref_mut()
                    .map(|r| ctx.i64(&r.gas_used, || f("result.gasUsed")))
                    .transpose()?
                    .flatten();
                row.to_address = res
                    .as_deref_mut()
                    .map(|r| ctx.take_addr(&mut r.address, || f("result.address")))
                    .transpose()?
                    .flatten();
                row.input = ctx.take_data(&mut a.init, || f("action.init"))?;
                row.output = res
                    .map(|r| ctx.take_data(&mut r.code, || f("result.code")))
                    .transpose()?
                    .flatten();
            }
            "suicide" => {
                row.from_address = ctx.addr(&a.address, || f("action.address"))?;
                row.to_address = ctx.addr(&a.refund_address, || f("action.refundAddress"))?;
                row.value = ctx.dec(&a.balance, || f("action.balance"))?;
            }
            "reward" => {
                row.to_address = ctx.addr(&a.author, || f("action.author"))?;
                row.value = ctx.dec(&a.value, || f("action.value"))?;
                row.reward_type = a.reward_type.clone();
            }
            _ => {}
        }
        rows.push(row);
        addrs.push(std::mem::take(&mut t.trace_address));
    }
    finish(info.number, &mut rows, &addrs)?;
    out.extend(rows);
    Ok(())
}

/// Geth callTracer traces of one block → rows. `tx_hashes` are the block's transaction
/// hashes in order (used when the node does not send `txHash`).
pub fn geth_rows(
    chain_id: i64,
    info: &BlockInfo,
    traces: &mut [GethTxTrace],
    tx_hashes: &[Option<String>],
    out: &mut Vec<TraceRow>,
) -> Result<(), EvmError> {
    let ctx = Ctx {
        block: info.number,
        method: "debug_traceBlockByNumber",
    };
    if traces.len() != tx_hashes.len() && !tx_hashes.is_empty() {
        return Err(EvmError::Inconsistent {
            block: info.number,
            reason: format!(
                "{} transactions but {} transaction traces",
                tx_hashes.len(),
                traces.len()
            ),
        });
    }
    let mut rows = Vec::new();
    let mut addrs = Vec::new();
    for (i, t) in traces.iter_mut().enumerate() {
        if let Some(e) = &t.error {
            return Err(EvmError::Decode {
                block: info.number,
                method: ctx.method.into(),
                field: format!("[{i}]"),
                reason: format!("the tracer failed: {e}"),
            });
        }
        let Some(frame) = &mut t.result else {
            return Err(EvmError::Decode {
                block: info.number,
                method: ctx.method.into(),
                field: format!("[{i}].result"),
                reason: "missing".into(),
            });
        };
        let tx_hash = match &t.tx_hash {
            Some(h) => ctx.hash(&Some(h.clone()), || format!("[{i}].txHash"))?,
            None => tx_hashes.get(i).cloned().flatten(),
        };
        let mut path = Vec::new();
        walk(
            &ctx, chain_id, info, i, &tx_hash, frame, &mut path, &mut rows, &mut addrs,
        )?;
    }
    for (k, r) in rows.iter_mut().enumerate() {
        r.trace_index = k as i64;
    }
    finish(info.number, &mut rows, &addrs)?;
    out.extend(rows);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn walk(
    ctx: &Ctx<'_>,
    chain_id: i64,
    info: &BlockInfo,
    tx_index: usize,
    tx_hash: &Option<String>,
    frame: &mut GethFrame,
    path: &mut Vec<i64>,
    rows: &mut Vec<TraceRow>,
    addrs: &mut Vec<Vec<i64>>,
) -> Result<(), EvmError> {
    let f = |name: &str| {
        format!(
            "[{tx_index}]{}.{name}",
            path.iter()
                .map(|p| format!(".calls[{p}]"))
                .collect::<String>()
        )
    };
    let kind = frame.frame_type.to_ascii_lowercase();
    let (trace_type, call_type) = match kind.as_str() {
        "call" | "callcode" | "delegatecall" | "staticcall" => {
            ("call".to_string(), Some(kind.clone()))
        }
        "create" | "create2" | "create3" => ("create".to_string(), None),
        "selfdestruct" | "suicide" => ("suicide".to_string(), None),
        other => (other.to_string(), None),
    };
    let error = frame.error.take().filter(|e| !e.is_empty());
    let failed = error.is_some();
    let row = TraceRow {
        transaction_hash: tx_hash.clone(),
        transaction_index: Some(tx_index as i64),
        from_address: ctx.take_addr(&mut frame.from, || f("from"))?,
        to_address: ctx.take_addr(&mut frame.to, || f("to"))?,
        value: match (&frame.value, trace_type.as_str()) {
            // callTracer omits value for STATICCALL/DELEGATECALL; Parity reports 0.
            (None, "call") if call_type.as_deref() != Some("delegatecall") => Some("0".into()),
            (None, "call") => Some("0".into()),
            (v, _) => ctx.dec(v, || f("value"))?,
        },
        input: if trace_type == "suicide" {
            None
        } else {
            ctx.take_data(&mut frame.input, || f("input"))?
                .or(Some("0x".into()))
        },
        output: if failed || trace_type == "suicide" {
            None
        } else {
            ctx.take_data(&mut frame.output, || f("output"))?
                .or(Some("0x".into()))
        },
        trace_type,
        call_type,
        reward_type: None,
        gas: ctx.i64(&frame.gas, || f("gas"))?,
        gas_used: if failed {
            None
        } else {
            ctx.i64(&frame.gas_used, || f("gasUsed"))?
        },
        subtraces: Some(frame.calls.len() as i64),
        trace_address: Some(addr_str(path)),
        error,
        status: None,
        trace_id: None,
        block_timestamp: info.timestamp,
        block_number: info.number as i64,
        block_hash: info.hash.clone(),
        chain_id,
        trace_index: 0,
    };
    let row = if row.trace_type == "suicide" {
        TraceRow { gas: None, ..row }
    } else {
        row
    };
    rows.push(row);
    addrs.push(path.clone());
    for (k, c) in frame.calls.iter_mut().enumerate() {
        path.push(k as i64);
        walk(ctx, chain_id, info, tx_index, tx_hash, c, path, rows, addrs)?;
        path.pop();
    }
    Ok(())
}

/// Computes `status` and `trace_id` for one block's rows (`addrs[i]` = trace address of row i).
fn finish(block: u64, rows: &mut [TraceRow], addrs: &[Vec<i64>]) -> Result<(), EvmError> {
    // status: 0 if errored or below an errored trace of the same transaction
    let mut status = vec![false; rows.len()];
    {
        let mut failed: FxHashMap<(&str, &[i64]), bool> = FxHashMap::default();
        failed.reserve(rows.len());
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| addrs[i].len());
        for &i in &order {
            let own = rows[i].error.is_some();
            let hash = rows[i].transaction_hash.as_deref();
            let ok = match hash {
                Some(h) if !addrs[i].is_empty() => {
                    let parent = &addrs[i][..addrs[i].len() - 1];
                    match failed.get(&(h, parent)) {
                        Some(parent_failed) => !own && !parent_failed,
                        None => {
                            return Err(EvmError::Inconsistent {
                                block,
                                reason: format!(
                                    "trace {:?} of transaction {h} has no parent trace",
                                    addrs[i]
                                ),
                            })
                        }
                    }
                }
                _ => !own,
            };
            status[i] = ok;
            if let Some(h) = hash {
                failed.insert((h, &addrs[i]), !ok);
            }
        }
    }
    for (r, ok) in rows.iter_mut().zip(status) {
        r.status = Some(ok as i64);
    }
    // ids
    let mut block_scoped: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter_mut().enumerate() {
        match &r.transaction_hash {
            Some(h) => {
                let mut id = String::with_capacity(r.trace_type.len() + h.len() + 8);
                id.push_str(&r.trace_type);
                id.push('_');
                id.push_str(h);
                id.push('_');
                join_into(&mut id, &addrs[i], '_');
                r.trace_id = Some(id);
            }
            None => block_scoped
                .entry(r.trace_type.clone())
                .or_default()
                .push(i),
        }
    }
    for (ty, mut idx) in block_scoped {
        idx.sort_by(|&a, &b| {
            let key = |r: &TraceRow| {
                (
                    r.reward_type.clone(),
                    r.from_address.clone(),
                    r.to_address.clone(),
                    r.value
                        .as_deref()
                        .and_then(|v| U256::from_str_radix(v, 10).ok()),
                )
            };
            key(&rows[a]).cmp(&key(&rows[b]))
        });
        for (k, i) in idx.into_iter().enumerate() {
            rows[i].trace_id = Some(format!("{ty}_{block}_{k}"));
        }
    }
    Ok(())
}
