//! The worker's state in PostgreSQL: every request it has seen and where it stands, the
//! chain window it has applied (its checkpoint) and its next nonce. Everything is keyed by
//! the oracle contract's address and the request id, so applying the same event twice,
//! or after a restart, changes nothing.
//!
//! A request moves through these states:
//!
//! ```text
//! pending ──job──▶ computed ──signed──▶ submitted ──event──▶ fulfilled
//!    │  ▲                                   │  ▲                  │
//!    │  └──── its block came back ──── dropped │ the fulfilment's block left the chain
//!    ├──▶ failed (the job refused it: error kept)       ◀──────┘ (sent again)
//!    ├──▶ expired (its expiry passed unfulfilled)
//!    └──▶ cancelled (the requester took the payment back)
//! ```
//!
//! A result that needs a transaction of its own first (the `train` job's model
//! registration) names them in `side_keys`; such **side transactions** live in
//! `oracle_side_txs` (`new` → `signed` → `mined` → `done`, or `failed`), signed with the
//! same nonce counter and write-ahead; the request is sent once its side transaction is
//! mined with its effect visible (its later nonce keeps it behind), and the side
//! transaction is watched until final.
//!
//! A request whose block leaves the chain is `dropped` whatever its state; a signed
//! transaction is kept (write-ahead, before it is sent) until some transaction with its
//! nonce is mined, so a crash between signing and sending only repeats the send.
//!
//! Request ids are the oracle, the requester and the requester's request count, so after
//! a reorganisation a new request can carry a dropped one's id with other contents: its
//! result and signed transaction are then forgotten (the nonce kept, to be reused or
//! given up once another transaction took it) and it is computed afresh. A `Fulfilled`
//! event for a request not seen yet is recorded as an `unseen` fulfilled row, so the
//! `Request` that follows is not served twice.

use alloy_primitives::B256;
use tokio_postgres::{Client, NoTls};

use crate::events::{LogPlace, RequestEvent};

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("PostgreSQL: {0}")]
    Pg(#[from] tokio_postgres::Error),
    #[error("the stored checkpoint is damaged: {0}")]
    Checkpoint(String),
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS oracle_requests (
    oracle TEXT NOT NULL,
    request_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'ledgerflow',
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    log_index BIGINT NOT NULL,
    requester TEXT NOT NULL,
    job_id TEXT NOT NULL,
    job TEXT,
    model_hash TEXT NOT NULL,
    params BYTEA NOT NULL,
    callback TEXT NOT NULL,
    selector TEXT NOT NULL,
    expiry BIGINT NOT NULL,
    payment TEXT NOT NULL,
    state TEXT NOT NULL,
    result BYTEA,
    result_hash TEXT,
    dataset_root TEXT,
    result_model_hash TEXT,
    code_version TEXT,
    notes TEXT,
    job_seconds DOUBLE PRECISION,
    fulfil_nonce BIGINT,
    fulfil_txs TEXT[] NOT NULL DEFAULT '{}',
    fulfil_raw BYTEA,
    max_fee TEXT,
    priority_fee TEXT,
    sent_at TIMESTAMPTZ,
    sends INT NOT NULL DEFAULT 0,
    fulfilled_block BIGINT,
    fulfilled_block_hash TEXT,
    fulfilled_tx TEXT,
    fulfilled_by TEXT,
    error TEXT,
    seen_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    fulfilled_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (oracle, request_id)
);
CREATE INDEX IF NOT EXISTS oracle_requests_state ON oracle_requests (oracle, state);
ALTER TABLE oracle_requests ADD COLUMN IF NOT EXISTS contract TEXT;
ALTER TABLE oracle_requests ADD COLUMN IF NOT EXISTS side_keys TEXT[];
ALTER TABLE oracle_requests ADD COLUMN IF NOT EXISTS confirmed BOOLEAN NOT NULL DEFAULT false;
CREATE TABLE IF NOT EXISTS oracle_side_txs (
    oracle TEXT NOT NULL,
    key TEXT NOT NULL,
    to_address TEXT NOT NULL,
    data BYTEA NOT NULL,
    check_data BYTEA NOT NULL,
    state TEXT NOT NULL DEFAULT 'new',
    nonce BIGINT,
    raw BYTEA,
    txs TEXT[] NOT NULL DEFAULT '{}',
    max_fee TEXT,
    priority_fee TEXT,
    sent_at TIMESTAMPTZ,
    sends INT NOT NULL DEFAULT 0,
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (oracle, key)
);
CREATE TABLE IF NOT EXISTS oracle_checkpoint (
    oracle TEXT PRIMARY KEY,
    window_json TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS oracle_nonces (
    oracle TEXT NOT NULL,
    worker TEXT NOT NULL,
    next_nonce BIGINT NOT NULL,
    PRIMARY KEY (oracle, worker)
);
";

/// A request as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub request_id: String,
    pub kind: String,
    pub block_number: u64,
    pub block_hash: String,
    pub requester: String,
    pub job_id: String,
    pub job: Option<String>,
    pub model_hash: String,
    pub params: Vec<u8>,
    pub expiry: u64,
    pub state: String,
    pub result: Option<Vec<u8>>,
    pub result_hash: Option<String>,
    pub dataset_root: Option<String>,
    pub result_model_hash: Option<String>,
    pub code_version: Option<String>,
    pub fulfil_nonce: Option<u64>,
    pub fulfil_txs: Vec<String>,
    pub fulfil_raw: Option<Vec<u8>>,
    pub max_fee: Option<String>,
    pub priority_fee: Option<String>,
    pub sends: i32,
    pub fulfilled_block: Option<u64>,
    pub fulfilled_tx: Option<String>,
    pub error: Option<String>,
    /// Seconds since the request was first seen (for latency).
    pub age_s: f64,
    /// The contract the request came from and the answer goes to (a Chainlink Operator
    /// for `kind = chainlink`; our oracle otherwise).
    pub contract: Option<String>,
    pub callback: String,
    pub selector: String,
    pub payment: String,
    /// Seconds since the last send.
    pub since_send_s: Option<f64>,
    /// The side transactions (their keys) this request's fulfilment waits for.
    pub side_keys: Vec<String>,
    /// Fulfilled, and the fulfilment's block is `--confirmations` deep.
    pub confirmed: bool,
}

/// A side transaction as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SideTx {
    pub key: String,
    pub to: String,
    pub data: Vec<u8>,
    pub check: Vec<u8>,
    /// `new`, `signed`, `mined`, `done` or `failed`.
    pub state: String,
    pub nonce: Option<u64>,
    pub raw: Option<Vec<u8>>,
    pub txs: Vec<String>,
    pub max_fee: Option<String>,
    pub priority_fee: Option<String>,
    pub since_send_s: Option<f64>,
    pub error: Option<String>,
}

const SIDE_COLUMNS: &str = "key, to_address, data, check_data, state, nonce, raw, txs, max_fee, \
    priority_fee, EXTRACT(EPOCH FROM clock_timestamp() - sent_at)::float8, error";

fn row_to_side(r: &tokio_postgres::Row) -> SideTx {
    SideTx {
        key: r.get(0),
        to: r.get(1),
        data: r.get(2),
        check: r.get(3),
        state: r.get(4),
        nonce: r.get::<_, Option<i64>>(5).map(|n| n as u64),
        raw: r.get(6),
        txs: r.get(7),
        max_fee: r.get(8),
        priority_fee: r.get(9),
        since_send_s: r.get(10),
        error: r.get(11),
    }
}

/// The store of one oracle contract.
pub struct Store {
    client: Client,
    oracle: String,
}

fn hex(b: &[u8]) -> String {
    format!("0x{}", alloy_primitives::hex::encode(b))
}

const COLUMNS: &str = "request_id, kind, block_number, block_hash, requester, job_id, job, \
    model_hash, params, expiry, state, result, result_hash, dataset_root, result_model_hash, \
    code_version, fulfil_nonce, fulfil_txs, fulfil_raw, max_fee, priority_fee, sends, \
    fulfilled_block, fulfilled_tx, error, \
    EXTRACT(EPOCH FROM clock_timestamp() - seen_at)::float8, \
    EXTRACT(EPOCH FROM clock_timestamp() - sent_at)::float8, contract, callback, selector, \
    payment, side_keys, confirmed";

fn row_to_stored(r: &tokio_postgres::Row) -> Stored {
    Stored {
        request_id: r.get(0),
        kind: r.get(1),
        block_number: r.get::<_, i64>(2) as u64,
        block_hash: r.get(3),
        requester: r.get(4),
        job_id: r.get(5),
        job: r.get(6),
        model_hash: r.get(7),
        params: r.get(8),
        expiry: r.get::<_, i64>(9) as u64,
        state: r.get(10),
        result: r.get(11),
        result_hash: r.get(12),
        dataset_root: r.get(13),
        result_model_hash: r.get(14),
        code_version: r.get(15),
        fulfil_nonce: r.get::<_, Option<i64>>(16).map(|n| n as u64),
        fulfil_txs: r.get(17),
        fulfil_raw: r.get(18),
        max_fee: r.get(19),
        priority_fee: r.get(20),
        sends: r.get(21),
        fulfilled_block: r.get::<_, Option<i64>>(22).map(|n| n as u64),
        fulfilled_tx: r.get(23),
        error: r.get(24),
        age_s: r.get::<_, Option<f64>>(25).unwrap_or(0.0),
        since_send_s: r.get(26),
        contract: r.get(27),
        callback: r.get(28),
        selector: r.get(29),
        payment: r.get(30),
        side_keys: r.get::<_, Option<Vec<String>>>(31).unwrap_or_default(),
        confirmed: r.get(32),
    }
}

/// Everything a computed result carries.
#[derive(Debug, Clone)]
pub struct Computed<'a> {
    pub result: &'a [u8],
    pub result_hash: String,
    pub dataset_root: String,
    pub model_hash: String,
    pub code_version: String,
    pub notes: String,
    pub seconds: f64,
    /// The side transactions the fulfilment needs first (recorded with the result).
    pub side: &'a [crate::jobs::SideCall],
}

impl Store {
    /// Connects and creates the tables when missing.
    pub async fn open(url: &str, oracle: &str) -> Result<Store, StoreError> {
        let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::warn!(error = %e, "PostgreSQL connection closed");
            }
        });
        client.batch_execute(SCHEMA).await?;
        Ok(Store {
            client,
            oracle: oracle.to_ascii_lowercase(),
        })
    }

    /// The stored chain window (JSON), if any.
    pub async fn checkpoint(&self) -> Result<Option<String>, StoreError> {
        let r = self
            .client
            .query_opt(
                "SELECT window_json FROM oracle_checkpoint WHERE oracle = $1",
                &[&self.oracle],
            )
            .await?;
        Ok(r.map(|r| r.get(0)))
    }

    /// Applies one chain event atomically: requests and fulfilments in orphaned blocks
    /// undone, the new blocks' events applied, the window stored.
    pub async fn apply(
        &mut self,
        orphaned: &[String],
        events: &[(LogPlace, crate::events::OracleEvent)],
        window_json: &str,
        jobs: &crate::jobs::Registry,
    ) -> Result<Applied, StoreError> {
        use crate::events::OracleEvent;
        let o = self.oracle.clone();
        let tx = self.client.transaction().await?;
        let mut applied = Applied::default();
        if !orphaned.is_empty() {
            // fulfilments whose block left the chain: back to submitted (sent again)
            applied.unfulfilled += tx
                .execute(
                    "UPDATE oracle_requests SET state = CASE WHEN fulfil_raw IS NULL THEN \
                     'computed' ELSE 'submitted' END, fulfilled_block = NULL, confirmed = false, \
                     fulfilled_block_hash = NULL, fulfilled_tx = NULL, fulfilled_by = NULL, \
                     fulfilled_at = NULL, updated_at = clock_timestamp() \
                     WHERE oracle = $1 AND fulfilled_block_hash = ANY($2)",
                    &[&o, &orphaned],
                )
                .await?;
            applied.dropped += tx
                .execute(
                    "UPDATE oracle_requests SET state = 'dropped', updated_at = clock_timestamp() \
                     WHERE oracle = $1 AND block_hash = ANY($2)",
                    &[&o, &orphaned],
                )
                .await?;
        }
        for (place, ev) in events {
            match ev {
                OracleEvent::Request(r) => {
                    applied.requests += 1;
                    insert_request(&tx, &o, place, r, jobs.name(&r.job_id)).await?;
                }
                OracleEvent::Fulfilled(f) => {
                    // a fulfilment of a request not seen yet (its block was read later,
                    // or before this worker's start): recorded as fulfilled, so its
                    // Request, when it comes, is not served again
                    tx.execute(
                        "INSERT INTO oracle_requests (oracle, request_id, kind, block_number, \
                         block_hash, tx_hash, log_index, requester, job_id, model_hash, params, \
                         callback, selector, expiry, payment, state) VALUES ($1, $2, 'unseen', \
                         $3, '', '', -1, '', '', '', '', '', '', 0, '0', 'fulfilled') \
                         ON CONFLICT (oracle, request_id) DO NOTHING",
                        &[
                            &o,
                            &format!("{:#x}", f.request_id),
                            &(place.block_number as i64),
                        ],
                    )
                    .await?;
                    applied.fulfilled += tx
                        .execute(
                            "UPDATE oracle_requests SET state = 'fulfilled', fulfilled_block = $3, \
                             fulfilled_block_hash = $4, fulfilled_tx = $5, fulfilled_by = $6, \
                             fulfilled_at = clock_timestamp(), updated_at = clock_timestamp() \
                             WHERE oracle = $1 AND request_id = $2",
                            &[
                                &o,
                                &format!("{:#x}", f.request_id),
                                &(place.block_number as i64),
                                &place.block_hash,
                                &format!("{:#x}", place.tx_hash),
                                &format!("{:#x}", f.worker),
                            ],
                        )
                        .await?;
                }
                OracleEvent::Chainlink(c) => {
                    applied.requests += 1;
                    insert_chainlink(&tx, &o, place, c, jobs.name(&c.spec_id)).await?;
                }
                OracleEvent::ChainlinkResponse { request_id } => {
                    applied.fulfilled += tx
                        .execute(
                            "UPDATE oracle_requests SET state = 'fulfilled', fulfilled_block = $3, \
                             fulfilled_block_hash = $4, fulfilled_tx = $5, \
                             fulfilled_at = clock_timestamp(), updated_at = clock_timestamp() \
                             WHERE oracle = $1 AND request_id = $2",
                            &[
                                &o,
                                &format!("{request_id:#x}"),
                                &(place.block_number as i64),
                                &place.block_hash,
                                &format!("{:#x}", place.tx_hash),
                            ],
                        )
                        .await?;
                }
                OracleEvent::Cancelled { request_id, .. } => {
                    tx.execute(
                        "UPDATE oracle_requests SET state = 'cancelled', \
                         updated_at = clock_timestamp() WHERE oracle = $1 AND request_id = $2",
                        &[&o, &format!("{request_id:#x}")],
                    )
                    .await?;
                }
            }
        }
        tx.execute(
            "INSERT INTO oracle_checkpoint (oracle, window_json) VALUES ($1, $2) \
             ON CONFLICT (oracle) DO UPDATE SET window_json = $2, updated_at = clock_timestamp()",
            &[&o, &window_json],
        )
        .await?;
        tx.commit().await?;
        Ok(applied)
    }

    /// Requests in `state`, oldest first.
    pub async fn in_state(&self, state: &str, limit: i64) -> Result<Vec<Stored>, StoreError> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM oracle_requests WHERE oracle = $1 AND state = $2 \
                     ORDER BY block_number, log_index LIMIT $3"
                ),
                &[&self.oracle, &state, &limit],
            )
            .await?;
        Ok(rows.iter().map(row_to_stored).collect())
    }

    /// Requests that hold a signed transaction not yet known mined (any state but
    /// fulfilled): their nonces must be used.
    pub async fn signed_unsettled(&self) -> Result<Vec<Stored>, StoreError> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM oracle_requests WHERE oracle = $1 \
                     AND fulfil_raw IS NOT NULL AND state <> 'fulfilled' ORDER BY fulfil_nonce"
                ),
                &[&self.oracle],
            )
            .await?;
        Ok(rows.iter().map(row_to_stored).collect())
    }

    /// One request.
    pub async fn get(&self, request_id: &str) -> Result<Option<Stored>, StoreError> {
        let r = self
            .client
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM oracle_requests WHERE oracle = $1 AND request_id = $2"
                ),
                &[&self.oracle, &request_id.to_ascii_lowercase()],
            )
            .await?;
        Ok(r.as_ref().map(row_to_stored))
    }

    /// Every request, newest first (at most `limit`).
    pub async fn all(&self, limit: i64) -> Result<Vec<Stored>, StoreError> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM oracle_requests WHERE oracle = $1 \
                     ORDER BY block_number DESC, log_index DESC LIMIT $2"
                ),
                &[&self.oracle, &limit],
            )
            .await?;
        Ok(rows.iter().map(row_to_stored).collect())
    }

    /// Requests still to be answered (pending, computed or submitted).
    pub async fn open_count(&self) -> Result<u64, StoreError> {
        let r = self
            .client
            .query_one(
                "SELECT COUNT(*) FROM oracle_requests WHERE oracle = $1 \
                 AND state IN ('pending', 'computed', 'submitted')",
                &[&self.oracle],
            )
            .await?;
        Ok(r.get::<_, i64>(0) as u64)
    }

    /// Marks fulfilled requests whose fulfilment is `confirmations` blocks below `head`
    /// as confirmed; how many.
    pub async fn confirm(&self, head: u64, confirmations: u64) -> Result<u64, StoreError> {
        Ok(self
            .client
            .execute(
                "UPDATE oracle_requests SET confirmed = true, updated_at = clock_timestamp() \
                 WHERE oracle = $1 AND state = 'fulfilled' AND NOT confirmed \
                 AND fulfilled_block IS NOT NULL AND fulfilled_block + $2 <= $3",
                &[
                    &self.oracle,
                    &(confirmations.min(i64::MAX as u64) as i64),
                    &(head.min(i64::MAX as u64) as i64),
                ],
            )
            .await?)
    }

    /// Requests per state.
    pub async fn counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT state, COUNT(*) FROM oracle_requests WHERE oracle = $1 \
                 GROUP BY state ORDER BY state",
                &[&self.oracle],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Records a job's result (only while the request is still pending), and the side
    /// transaction it needs (one row per key, shared).
    pub async fn computed(&mut self, id: &str, c: &Computed<'_>) -> Result<bool, StoreError> {
        let tx = self.client.transaction().await?;
        let waits: Vec<String> = c.side.iter().map(|s| s.key.clone()).collect();
        let n = tx
            .execute(
                "UPDATE oracle_requests SET state = 'computed', result = $3, result_hash = $4, \
                 dataset_root = $5, result_model_hash = $6, code_version = $7, notes = $8, \
                 job_seconds = $9, side_keys = $10, error = NULL, updated_at = clock_timestamp() \
                 WHERE oracle = $1 AND request_id = $2 AND state = 'pending'",
                &[
                    &self.oracle,
                    &id,
                    &c.result,
                    &c.result_hash,
                    &c.dataset_root,
                    &c.model_hash,
                    &c.code_version,
                    &c.notes,
                    &c.seconds,
                    &waits,
                ],
            )
            .await?;
        for side in c.side.iter().filter(|_| n == 1) {
            // a side transaction that failed before is tried again for a new result
            tx.execute(
                "INSERT INTO oracle_side_txs (oracle, key, to_address, data, check_data) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (oracle, key) DO UPDATE SET \
                 state = CASE WHEN oracle_side_txs.state = 'failed' THEN 'new' \
                 ELSE oracle_side_txs.state END, error = NULL, updated_at = clock_timestamp()",
                &[
                    &self.oracle,
                    &side.key,
                    &format!("{:#x}", side.to),
                    &side.data,
                    &side.check,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Side transactions not yet final (`new`, `signed`, `mined`).
    pub async fn side_open(&self) -> Result<Vec<SideTx>, StoreError> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {SIDE_COLUMNS} FROM oracle_side_txs WHERE oracle = $1 \
                     AND state IN ('new', 'signed', 'mined') ORDER BY created_at, key"
                ),
                &[&self.oracle],
            )
            .await?;
        Ok(rows.iter().map(row_to_side).collect())
    }

    /// One side transaction.
    pub async fn side(&self, key: &str) -> Result<Option<SideTx>, StoreError> {
        let r = self
            .client
            .query_opt(
                &format!(
                    "SELECT {SIDE_COLUMNS} FROM oracle_side_txs WHERE oracle = $1 AND key = $2"
                ),
                &[&self.oracle, &key],
            )
            .await?;
        Ok(r.as_ref().map(row_to_side))
    }

    /// Records a signed side transaction before it is sent (write-ahead).
    pub async fn side_signed(
        &self,
        worker: &str,
        key: &str,
        nonce: u64,
        raw: &[u8],
        hash: &str,
        fees: (u128, u128),
    ) -> Result<(), StoreError> {
        self.client
            .execute(
                "WITH claim AS (INSERT INTO oracle_nonces (oracle, worker, next_nonce) \
                 VALUES ($1, $8, $3::bigint + 1) ON CONFLICT (oracle, worker) DO UPDATE SET \
                 next_nonce = GREATEST(oracle_nonces.next_nonce, $3::bigint + 1) RETURNING 1) \
                 UPDATE oracle_side_txs SET state = 'signed', nonce = $3, raw = $4, \
                 txs = array_append(txs, $5), priority_fee = $6, max_fee = $7, \
                 sent_at = clock_timestamp(), sends = sends + 1, updated_at = clock_timestamp() \
                 WHERE oracle = $1 AND key = $2",
                &[
                    &self.oracle,
                    &key,
                    &(nonce as i64),
                    &raw,
                    &hash,
                    &fees.0.to_string(),
                    &fees.1.to_string(),
                    &worker.to_ascii_lowercase(),
                ],
            )
            .await?;
        Ok(())
    }

    /// Moves a side transaction to `state` (`done`, `failed`, or `new` to sign it again
    /// with a new nonce), with an error for `failed`.
    pub async fn side_state(
        &self,
        key: &str,
        state: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let release = state == "new";
        self.client
            .execute(
                "UPDATE oracle_side_txs SET state = $3, error = $4, \
                 raw = CASE WHEN $5 THEN NULL ELSE raw END, \
                 nonce = CASE WHEN $5 THEN NULL ELSE nonce END, \
                 sent_at = CASE WHEN $3 = 'signed' THEN clock_timestamp() ELSE sent_at END, \
                 sends = CASE WHEN $3 = 'signed' THEN sends + 1 ELSE sends END, \
                 updated_at = clock_timestamp() WHERE oracle = $1 AND key = $2",
                &[&self.oracle, &key, &state, &error, &release],
            )
            .await?;
        Ok(())
    }

    /// Moves a request to `state` with an error, from `from`.
    pub async fn set_state(
        &self,
        id: &str,
        from: &str,
        state: &str,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = self
            .client
            .execute(
                "UPDATE oracle_requests SET state = $4, error = COALESCE($5, error), \
                 updated_at = clock_timestamp() \
                 WHERE oracle = $1 AND request_id = $2 AND state = $3",
                &[&self.oracle, &id, &from, &state, &error],
            )
            .await?;
        Ok(n == 1)
    }

    /// The next nonce for `worker`: the larger of its counter and `at_least` (the
    /// node's pending count). Nothing is claimed here: the nonce is claimed by the
    /// statement that records the transaction signed with it ([`Store::signed`],
    /// [`Store::side_signed`]), so a crash between the two leaves no gap.
    pub async fn next_nonce(&self, worker: &str, at_least: u64) -> Result<u64, StoreError> {
        let r = self
            .client
            .query_opt(
                "SELECT next_nonce FROM oracle_nonces WHERE oracle = $1 AND worker = $2",
                &[&self.oracle, &worker.to_ascii_lowercase()],
            )
            .await?;
        let stored = r.map_or(0, |r| r.get::<_, i64>(0).max(0) as u64);
        Ok(stored.max(at_least))
    }

    /// Records a signed fulfilment before it is sent (write-ahead): its nonce, raw bytes,
    /// hash (added to the request's list) and fees; a computed request becomes submitted.
    /// The same statement claims the nonce in `worker`'s counter, so a nonce is taken
    /// exactly when a transaction signed with it is on record.
    #[allow(clippy::too_many_arguments)]
    pub async fn signed(
        &self,
        worker: &str,
        id: &str,
        nonce: u64,
        raw: &[u8],
        hash: &str,
        max_fee: u128,
        priority_fee: u128,
    ) -> Result<(), StoreError> {
        self.client
            .execute(
                "WITH claim AS (INSERT INTO oracle_nonces (oracle, worker, next_nonce) \
                 VALUES ($1, $8, $3::bigint + 1) ON CONFLICT (oracle, worker) DO UPDATE SET \
                 next_nonce = GREATEST(oracle_nonces.next_nonce, $3::bigint + 1) RETURNING 1) \
                 UPDATE oracle_requests SET fulfil_nonce = $3, fulfil_raw = $4, \
                 fulfil_txs = array_append(fulfil_txs, $5), max_fee = $6, priority_fee = $7, \
                 state = CASE WHEN state = 'computed' THEN 'submitted' ELSE state END, \
                 sent_at = clock_timestamp(), sends = sends + 1, updated_at = clock_timestamp() \
                 WHERE oracle = $1 AND request_id = $2",
                &[
                    &self.oracle,
                    &id,
                    &(nonce as i64),
                    &raw,
                    &hash,
                    &max_fee.to_string(),
                    &priority_fee.to_string(),
                    &worker.to_ascii_lowercase(),
                ],
            )
            .await?;
        Ok(())
    }

    /// Marks a rebroadcast of the same bytes.
    pub async fn resent(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .execute(
                "UPDATE oracle_requests SET sent_at = clock_timestamp(), sends = sends + 1 \
                 WHERE oracle = $1 AND request_id = $2",
                &[&self.oracle, &id],
            )
            .await?;
        Ok(())
    }

    /// Gives up a request's nonce (another transaction used it): a request still to be
    /// fulfilled is signed again with a new one.
    pub async fn release_nonce(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .execute(
                "UPDATE oracle_requests SET fulfil_raw = NULL, fulfil_nonce = NULL, \
                 state = CASE WHEN state = 'submitted' THEN 'computed' ELSE state END, \
                 updated_at = clock_timestamp() WHERE oracle = $1 AND request_id = $2",
                &[&self.oracle, &id],
            )
            .await?;
        Ok(())
    }

    /// The signed transaction of a request is settled (a transaction with its nonce was
    /// mined and is final): it is not sent again.
    pub async fn settle(&self, id: &str, error: Option<&str>) -> Result<(), StoreError> {
        self.client
            .execute(
                "UPDATE oracle_requests SET fulfil_raw = NULL, error = COALESCE($3, error), \
                 state = CASE WHEN state IN ('submitted', 'computed') AND $3::text IS NOT NULL \
                 THEN 'failed' ELSE state END, updated_at = clock_timestamp() \
                 WHERE oracle = $1 AND request_id = $2",
                &[&self.oracle, &id, &error],
            )
            .await?;
        Ok(())
    }
}

/// The state of a stored request whose block is (again) on the chain: a dropped one
/// comes back to where it was (its transaction to send again, its result to send, or its
/// job to run); any other keeps its state.
const LIVE_AGAIN: &str = "CASE WHEN oracle_requests.state <> 'dropped' THEN oracle_requests.state \
     WHEN oracle_requests.fulfil_raw IS NOT NULL THEN 'submitted' \
     WHEN oracle_requests.result IS NOT NULL THEN 'computed' ELSE 'pending' END";

async fn insert_request(
    tx: &tokio_postgres::Transaction<'_>,
    o: &str,
    place: &LogPlace,
    r: &RequestEvent,
    job: Option<&str>,
) -> Result<u64, tokio_postgres::Error> {
    // a stored request whose contents differ from the event's (a reused id after a
    // reorganisation): its result and signed transaction are forgotten
    let changed = "(oracle_requests.kind <> 'unseen' AND (oracle_requests.requester, \
         oracle_requests.job_id, oracle_requests.model_hash, oracle_requests.params, \
         oracle_requests.callback, oracle_requests.selector, oracle_requests.expiry) \
         IS DISTINCT FROM ($7, $8, $10, $11, $12, $13, $14))";
    let forget = |col: &str, empty: &str| {
        format!("{col} = CASE WHEN {changed} THEN {empty} ELSE oracle_requests.{col} END")
    };
    let sql = format!(
        "INSERT INTO oracle_requests (oracle, request_id, block_number, block_hash, tx_hash, \
         log_index, requester, job_id, job, model_hash, params, callback, selector, expiry, \
         payment, state) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,'pending') \
         ON CONFLICT (oracle, request_id) DO UPDATE SET block_number = $3, block_hash = $4, \
         tx_hash = $5, log_index = $6, kind = 'ledgerflow', requester = $7, job_id = $8, \
         job = $9, model_hash = $10, params = $11, callback = $12, selector = $13, expiry = $14, \
         payment = $15, state = CASE WHEN oracle_requests.kind = 'unseen' \
         THEN oracle_requests.state WHEN {changed} THEN 'pending' ELSE {LIVE_AGAIN} END, \
         {}, {}, {}, {}, {}, updated_at = clock_timestamp()",
        forget("result", "NULL"),
        forget("result_hash", "NULL"),
        forget("fulfil_raw", "NULL"),
        forget("fulfil_txs", "'{}'"),
        forget("error", "NULL"),
    );
    tx.execute(
        sql.as_str(),
        &[
            &o,
            &format!("{:#x}", r.request_id),
            &(place.block_number as i64),
            &place.block_hash,
            &format!("{:#x}", place.tx_hash),
            &(place.log_index as i64),
            &format!("{:#x}", r.requester),
            &format!("{:#x}", r.job_id),
            &job,
            &format!("{:#x}", r.model_hash),
            &r.params,
            &format!("{:#x}", r.callback),
            &hex(&r.selector),
            &(r.expiry.min(i64::MAX as u64) as i64),
            &r.payment.to_string(),
        ],
    )
    .await
}

/// A request made through a Chainlink Operator (`kind = chainlink`): its CBOR parameters
/// as `params`, the Operator as `contract`, `cancelExpiration` as `expiry`.
async fn insert_chainlink(
    tx: &tokio_postgres::Transaction<'_>,
    o: &str,
    place: &LogPlace,
    r: &crate::chainlink::OracleRequest,
    job: Option<&str>,
) -> Result<u64, tokio_postgres::Error> {
    tx.execute(
        format!(
            "INSERT INTO oracle_requests (oracle, request_id, kind, block_number, block_hash, \
         tx_hash, log_index, requester, job_id, job, model_hash, params, callback, selector, \
         expiry, payment, state, contract) VALUES ($1,$2,'chainlink',$3,$4,$5,$6,$7,$8,$9,$10, \
         $11,$12,$13,$14,$15,'pending',$16) \
         ON CONFLICT (oracle, request_id) DO UPDATE SET block_number = $3, block_hash = $4, \
         tx_hash = $5, log_index = $6, state = {LIVE_AGAIN}, updated_at = clock_timestamp()"
        )
        .as_str(),
        &[
            &o,
            &format!("{:#x}", r.request_id),
            &(place.block_number as i64),
            &place.block_hash,
            &format!("{:#x}", place.tx_hash),
            &(place.log_index as i64),
            &format!("{:#x}", r.requester),
            &format!("{:#x}", r.spec_id),
            &job,
            &format!("{:#x}", B256::ZERO),
            &r.data,
            &format!("{:#x}", r.callback),
            &hex(&r.selector),
            &(r.cancel_expiration.min(i64::MAX as u64) as i64),
            &r.payment.to_string(),
            &format!("{:#x}", place.address),
        ],
    )
    .await
}

/// What one applied chain event changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub requests: u64,
    pub fulfilled: u64,
    pub dropped: u64,
    pub unfulfilled: u64,
}
