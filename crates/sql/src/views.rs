//! Views every dataset gets, written in SQL over its tables (so `EXPLAIN` shows them and
//! the lake's pruning applies inside them).
//!
//! * `double_entry_book`: one row per credit or debit of an address, `value` signed in the
//!   chain's base unit (wei, satoshi), `DECIMAL(38,0)`:
//!   * Bitcoin family: every output credits its address(es), every input debits the spent
//!     output's address(es) (`address` = the addresses joined by `,`, as the BigQuery
//!     community queries do; `entry` = `output` / `input`).
//!   * EVM: ether moved by successful traces (calls other than delegatecall/callcode/
//!     staticcall, creations, self-destructs, rewards, genesis; `entry` = `trace`), the fee
//!     every transaction's sender pays (execution gas at the effective price plus blob gas;
//!     `fee`), the part the block's miner receives (the priority fee, everything before
//!     EIP-1559; `fee_reward`; the base fee and blob fee are burnt and credited to no one),
//!     and beacon-chain withdrawals (`withdrawal`, Gwei × 10⁹).
//! * `token_double_entry_book` (EVM): one row per side of every token transfer
//!   (`value` = `DECIMAL(76,0)`; an amount that does not fit is NULL).
//! * `balances`: `address`, `balance` (sum of the book), `entries`.
//! * `daily_balances`: `address`, `date`, `change` (the day's net), `balance` (after that
//!   day), one row per address and day with activity.

use crate::catalog::{Dataset, Family};

/// A view: name and SQL body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// Unqualified view name.
    pub name: &'static str,
    /// The `SELECT` that defines it, over dataset `ds`.
    pub sql: String,
}

const VALUE_CALLS: &str =
    "(call_type IS NULL OR call_type NOT IN ('delegatecall', 'callcode', 'staticcall'))";

/// The views of a dataset whose name in SQL is `ds` (only those whose tables exist).
pub fn views(d: &Dataset, ds: &str) -> Vec<View> {
    let mut out = Vec::new();
    let book = match d.family {
        Family::Utxo if d.has(&["inputs", "outputs"]) => Some(format!(
            "SELECT block_number, block_timestamp, transaction_hash, 'output' AS entry, \
             \"index\" AS entry_index, array_to_string(addresses, ',') AS address, type, \
             CAST(value AS DECIMAL(38,0)) AS value \
             FROM {ds}.outputs \
             UNION ALL \
             SELECT block_number, block_timestamp, transaction_hash, 'input' AS entry, \
             \"index\" AS entry_index, array_to_string(addresses, ',') AS address, type, \
             -CAST(value AS DECIMAL(38,0)) AS value \
             FROM {ds}.inputs"
        )),
        Family::Evm if d.has(&["traces", "transactions", "blocks"]) => {
            let dec = |e: &str| format!("CAST({e} AS DECIMAL(38,0))");
            let price = dec("COALESCE(t.receipt_effective_gas_price, t.gas_price)");
            let gas = dec("t.receipt_gas_used");
            let blob = format!(
                "COALESCE({} * {}, CAST(0 AS DECIMAL(38,0)))",
                dec("t.receipt_blob_gas_used"),
                dec("t.receipt_blob_gas_price")
            );
            let base = dec("COALESCE(b.base_fee_per_gas, 0)");
            Some(format!(
                "SELECT block_number, block_timestamp, transaction_hash, 'trace' AS entry, \
                 trace_id AS entry_id, to_address AS address, {v} AS value \
                 FROM {ds}.traces WHERE to_address IS NOT NULL AND status = 1 AND {VALUE_CALLS} \
                 UNION ALL \
                 SELECT block_number, block_timestamp, transaction_hash, 'trace', trace_id, \
                 from_address AS address, -{v} AS value \
                 FROM {ds}.traces WHERE from_address IS NOT NULL AND status = 1 AND {VALUE_CALLS} \
                 UNION ALL \
                 SELECT t.block_number, t.block_timestamp, t.hash AS transaction_hash, 'fee', \
                 t.hash AS entry_id, t.from_address AS address, -({gas} * {price} + {blob}) AS value \
                 FROM {ds}.transactions t \
                 UNION ALL \
                 SELECT t.block_number, t.block_timestamp, t.hash AS transaction_hash, 'fee_reward', \
                 t.hash AS entry_id, b.miner AS address, {gas} * ({price} - {base}) AS value \
                 FROM {ds}.transactions t JOIN {ds}.blocks b ON b.number = t.block_number \
                 UNION ALL \
                 SELECT number, \"timestamp\", CAST(NULL AS VARCHAR), 'withdrawal', \
                 CAST(w['index'] AS VARCHAR), w['address'] AS address, \
                 CAST(w['amount'] AS DECIMAL(38,0)) * CAST(1000000000 AS DECIMAL(38,0)) AS value \
                 FROM (SELECT number, \"timestamp\", unnest(withdrawals) AS w FROM {ds}.blocks)",
                v = dec("value"),
            ))
        }
        _ => None,
    };
    if let Some(sql) = book {
        out.push(View {
            name: "double_entry_book",
            sql,
        });
        out.push(View {
            name: "balances",
            sql: format!(
                "SELECT address, SUM(value) AS balance, COUNT(*) AS entries \
                 FROM {ds}.double_entry_book WHERE address IS NOT NULL GROUP BY address"
            ),
        });
        out.push(View {
            name: "daily_balances",
            sql: format!(
                "SELECT address, date, change, \
                 SUM(change) OVER (PARTITION BY address ORDER BY date \
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS balance \
                 FROM (SELECT address, CAST(block_timestamp AS DATE) AS date, SUM(value) AS change \
                 FROM {ds}.double_entry_book WHERE address IS NOT NULL GROUP BY 1, 2)"
            ),
        });
    }
    if d.family == Family::Evm && d.has(&["token_transfers"]) {
        out.push(View {
            name: "token_double_entry_book",
            sql: format!(
                "SELECT block_number, block_timestamp, transaction_hash, log_index, token_address, \
                 token_standard, token_id, to_address AS address, \
                 TRY_CAST(value AS DECIMAL(76,0)) AS value \
                 FROM {ds}.token_transfers \
                 UNION ALL \
                 SELECT block_number, block_timestamp, transaction_hash, log_index, token_address, \
                 token_standard, token_id, from_address, \
                 -TRY_CAST(value AS DECIMAL(76,0)) \
                 FROM {ds}.token_transfers"
            ),
        });
    }
    out
}
