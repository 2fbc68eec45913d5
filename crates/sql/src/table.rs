//! A lake table as a DataFusion table: its chunk files, pruned by block range before
//! DataFusion's Parquet scan (projection and predicate push-down, row-group pruning).

use std::sync::Arc;

use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::TableProvider;
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::ExecutionPlan;

use crate::catalog::Chunk;
use crate::prune;

/// One table of the lake.
#[derive(Debug)]
pub struct LakeTable {
    schema: SchemaRef,
    chunks: Vec<(ListingTableUrl, Chunk)>,
    block_column: Option<String>,
    options: ListingOptions,
}

/// The listing options for lake chunks.
pub fn listing_options() -> ListingOptions {
    ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet")
}

/// The URL DataFusion reads a chunk from.
pub fn chunk_url(chunk: &Chunk) -> Result<ListingTableUrl> {
    let abs = std::path::absolute(&chunk.path)?;
    ListingTableUrl::parse(abs.to_string_lossy())
}

impl LakeTable {
    /// A table over `chunks` (non-empty) whose Arrow schema is read from the first chunk.
    pub async fn open(state: &dyn Session, chunks: Vec<Chunk>) -> Result<LakeTable> {
        let options = listing_options();
        let mut with_urls = Vec::with_capacity(chunks.len());
        for c in chunks {
            with_urls.push((chunk_url(&c)?, c));
        }
        let first = with_urls.first().map(|(u, _)| u.clone()).ok_or_else(|| {
            datafusion::error::DataFusionError::Plan("a table without chunks".into())
        })?;
        let schema = options.infer_schema(state, &first).await?;
        let block_column = ["block_number", "number"]
            .into_iter()
            .find(|c| {
                schema
                    .field_with_name(c)
                    .map(|f| f.data_type().is_integer())
                    .unwrap_or(false)
            })
            .map(String::from);
        Ok(LakeTable {
            schema,
            chunks: with_urls,
            block_column,
            options,
        })
    }

    /// The chunk files a scan with `filters` reads: those whose block range can match.
    fn pruned(&self, filters: &[Expr]) -> Vec<ListingTableUrl> {
        let bounds = match &self.block_column {
            Some(c) => prune::bounds(filters, c),
            None => prune::Bounds::ALL,
        };
        self.chunks
            .iter()
            .filter(|(_, c)| bounds.overlaps(c.range.start, c.range.end))
            .map(|(u, _)| u.clone())
            .collect()
    }
}

#[async_trait]
impl TableProvider for LakeTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // used for file pruning and pushed into the Parquet scan; re-checked above it
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let urls = self.pruned(filters);
        tracing::debug!(
            files = urls.len(),
            of = self.chunks.len(),
            "block-range pruning"
        );
        if urls.is_empty() {
            let schema = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => self.schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(self.options.clone())
            .with_schema(self.schema.clone());
        let inner = ListingTable::try_new(config)?;
        inner.scan(state, projection, filters, limit).await
    }
}
