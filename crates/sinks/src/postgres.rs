//! The PostgreSQL sink: each event is one transaction that deletes the rows of the blocks
//! it undoes (and of any block it re-applies), copies in the new rows, and moves the
//! sink's checkpoint (its window of recent blocks, in `<schema>.ledgerflow_stream`).
//! After a crash the database holds either the whole event or none of it, and the
//! checkpoint always describes exactly the rows present.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::BytesMut;
use futures::SinkExt;
use ledgerflow_postgres::error::sql;
use ledgerflow_postgres::schema::{block_column, ddl, ident, pg_type, PgType};
use ledgerflow_postgres::{copy, PgError};
use tokio_postgres::Client;

use ledgerflow_stream::chain::{BlockRef, Event, Window};
use ledgerflow_stream::sink::{Checkpoint, OpenSink, Sink, SinkError};

/// A stream's PostgreSQL sink.
pub struct PgSink {
    client: Client,
    schema: String,
    sink: String,
    /// The tables this sink writes, with their column types.
    tables: BTreeMap<String, Vec<PgType>>,
}

impl PgSink {
    /// Connects and creates the schema, every table the stream writes (`tables`: name and
    /// Arrow schema; keys and indexes as `load postgres` makes them) and the checkpoint
    /// table. `schema` is the dataset name (`crypto_anvil`); `sink` names this stream's
    /// checkpoint; `utxo` picks the Bitcoin-family keys.
    pub async fn open(
        url: &str,
        schema: &str,
        sink: &str,
        tables: &[(&str, SchemaRef)],
        utxo: bool,
    ) -> Result<Self, PgError> {
        let client = ledgerflow_postgres::load::connect(url).await?;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {s}; \
                 CREATE TABLE IF NOT EXISTS {s}.ledgerflow_stream (\
                   sink TEXT NOT NULL, number BIGINT NOT NULL, hash TEXT NOT NULL, \
                   parent_hash TEXT NOT NULL, PRIMARY KEY (sink, number)); \
                 CREATE TABLE IF NOT EXISTS {s}.ledgerflow_stream_meta (\
                   sink TEXT PRIMARY KEY, genesis_hash TEXT NOT NULL, events BIGINT NOT NULL, \
                   updated_at TIMESTAMPTZ NOT NULL)",
                s = ident(schema)
            ))
            .await
            .map_err(sql("creating the stream checkpoint table"))?;
        let mut known = BTreeMap::new();
        for (table, arrow) in tables {
            let types = arrow
                .fields()
                .iter()
                .map(|f| pg_type(table, f))
                .collect::<Result<Vec<_>, _>>()?;
            for stmt in ddl(schema, table, arrow, utxo)? {
                client
                    .batch_execute(&stmt)
                    .await
                    .map_err(sql(format!("creating {schema}.{table}")))?;
            }
            known.insert(table.to_string(), types);
        }
        Ok(PgSink {
            client,
            schema: schema.to_string(),
            sink: sink.to_string(),
            tables: known,
        })
    }

    /// Where the sink writes, for messages.
    pub fn describe(&self) -> String {
        format!("postgres schema {} (sink {:?})", self.schema, self.sink)
    }

    /// The checkpoint: the window and the genesis hash of the chain the rows come from.
    pub async fn checkpoint(&self, confirmations: u64) -> Result<Checkpoint, PgError> {
        let genesis = self
            .client
            .query_opt(
                &format!(
                    "SELECT genesis_hash FROM {}.ledgerflow_stream_meta WHERE sink = $1",
                    ident(&self.schema)
                ),
                &[&self.sink],
            )
            .await
            .map_err(sql("reading the stream checkpoint"))?
            .map(|r| r.get::<_, String>(0));
        Ok(Checkpoint {
            window: self.window(confirmations).await?,
            genesis,
            pending: None,
        })
    }

    /// The checkpoint's window of recent blocks the rows correspond to (empty before
    /// the first event).
    pub async fn window(&self, confirmations: u64) -> Result<Window, PgError> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT number, hash, parent_hash FROM {}.ledgerflow_stream WHERE sink = $1",
                    ident(&self.schema)
                ),
                &[&self.sink],
            )
            .await
            .map_err(sql("reading the stream checkpoint"))?;
        Ok(Window::restore(
            confirmations,
            rows.iter()
                .map(|r| BlockRef {
                    number: r.get::<_, i64>(0) as u64,
                    hash: r.get(1),
                    parent_hash: r.get(2),
                })
                .collect(),
        ))
    }

    /// Applies an event with the rows of the blocks it applies, and the window after it
    /// (the new checkpoint), in one transaction.
    pub async fn apply(
        &mut self,
        event: &Event,
        rows: &[(&str, RecordBatch)],
        after: &Window,
        genesis: &str,
    ) -> Result<(), PgError> {
        for (table, _) in rows {
            if !self.tables.contains_key(*table) {
                return Err(PgError::Unsupported(format!(
                    "rows for {table}, which this sink was not opened with"
                )));
            }
        }
        // everything from the lowest block undone or (re)applied up is replaced
        let low = event.lowest();
        let s = ident(&self.schema);
        let tx = self
            .client
            .transaction()
            .await
            .map_err(sql("starting a stream transaction"))?;
        if let Some(low) = low {
            let low = low as i64;
            for table in self.tables.keys() {
                tx.execute(
                    &format!(
                        "DELETE FROM {s}.{} WHERE {} >= $1",
                        ident(table),
                        ident(block_column(table))
                    ),
                    &[&low],
                )
                .await
                .map_err(sql(format!(
                    "deleting orphaned rows of {}.{table}",
                    self.schema
                )))?;
            }
        }
        for (table, batch) in rows {
            let types = &self.tables[*table];
            let cols: Vec<String> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| ident(f.name()))
                .collect();
            let copy_in = tx
                .copy_in(&format!(
                    "COPY {s}.{} ({}) FROM STDIN (FORMAT binary)",
                    ident(table),
                    cols.join(", ")
                ))
                .await
                .map_err(sql(format!("starting COPY into {}.{table}", self.schema)))?;
            futures::pin_mut!(copy_in);
            let mut buf = BytesMut::new();
            copy::header(&mut buf);
            copy::encode(batch, types, &mut buf)?;
            copy::trailer(&mut buf);
            copy_in
                .send(buf.freeze())
                .await
                .map_err(sql(format!("copying into {}.{table}", self.schema)))?;
            copy_in
                .finish()
                .await
                .map_err(sql(format!("finishing COPY into {}.{table}", self.schema)))?;
        }
        // the checkpoint: exactly the window after the event
        tx.execute(
            &format!("DELETE FROM {s}.ledgerflow_stream WHERE sink = $1"),
            &[&self.sink],
        )
        .await
        .map_err(sql("moving the stream checkpoint"))?;
        let numbers: Vec<i64> = after.blocks().map(|b| b.number as i64).collect();
        let hashes: Vec<&str> = after.blocks().map(|b| b.hash.as_str()).collect();
        let parents: Vec<&str> = after.blocks().map(|b| b.parent_hash.as_str()).collect();
        tx.execute(
            &format!(
                "INSERT INTO {s}.ledgerflow_stream (sink, number, hash, parent_hash) \
                 SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[])"
            ),
            &[&self.sink, &numbers, &hashes, &parents],
        )
        .await
        .map_err(sql("moving the stream checkpoint"))?;
        tx.execute(
            &format!(
                "INSERT INTO {s}.ledgerflow_stream_meta (sink, genesis_hash, events, updated_at) \
                 VALUES ($1, $2, 1, now()) ON CONFLICT (sink) DO UPDATE SET \
                 genesis_hash = EXCLUDED.genesis_hash, \
                 events = {s}.ledgerflow_stream_meta.events + 1, updated_at = now()"
            ),
            &[&self.sink, &genesis],
        )
        .await
        .map_err(sql("moving the stream checkpoint"))?;
        tx.commit()
            .await
            .map_err(sql("committing a stream event"))?;
        Ok(())
    }

    /// The client (tests and checks read the tables through it).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// How to open a stream's PostgreSQL sink (see [`PgSink::open`]).
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connection URL.
    pub url: String,
    /// Schema (dataset name, `crypto_<chain>`).
    pub schema: String,
    /// Checkpoint name.
    pub name: String,
    /// Tables and schemas.
    pub tables: Vec<(&'static str, SchemaRef)>,
    /// Bitcoin-family keys.
    pub utxo: bool,
}

#[async_trait::async_trait]
impl Sink for PgSink {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn describe(&self) -> String {
        PgSink::describe(self)
    }

    async fn checkpoint(&mut self, confirmations: u64) -> Result<Checkpoint, SinkError> {
        PgSink::checkpoint(self, confirmations)
            .await
            .map_err(SinkError::store)
    }

    async fn apply(
        &mut self,
        event: &Event,
        rows: &[(&str, RecordBatch)],
        _tables: &[&str],
        after: &Window,
        genesis: &str,
    ) -> Result<(), SinkError> {
        PgSink::apply(self, event, rows, after, genesis)
            .await
            .map_err(SinkError::store)
    }
}

#[async_trait::async_trait]
impl OpenSink for PgOptions {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn open(&self) -> Result<Box<dyn Sink>, SinkError> {
        let t: Vec<(&str, SchemaRef)> = self.tables.iter().map(|(n, s)| (*n, s.clone())).collect();
        let sink = PgSink::open(&self.url, &self.schema, &self.name, &t, self.utxo)
            .await
            .map_err(SinkError::store)?;
        Ok(Box::new(sink))
    }
}
