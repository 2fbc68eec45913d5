//! The SQL engine: a DataFusion session with the lake's tables, views and functions.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::common::config::Dialect;
use datafusion::dataframe::DataFrame;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::catalog::{self, Chunk, Dataset};
use crate::error::SqlError;
use crate::table::LakeTable;
use crate::text;
use crate::views;

/// How to open the lake.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Extra dataset names: `(alias, chain folder)`, e.g. `("crypto_ethereum", "anvil")`.
    pub aliases: Vec<(String, String)>,
    /// Parallelism of query execution (default: the number of cores).
    pub partitions: Option<usize>,
    /// Only this chain folder and, of its chunks, those wholly inside this block range
    /// (a registered dataset, as `ledgerflow_lake::hash::hash_blocks` selects it).
    pub scope: Option<Scope>,
}

/// A chain folder, a block range and (optionally) a set of tables: the only data a
/// session sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub chain: String,
    pub from: u64,
    pub to: u64,
    /// Only these tables (`None`: every table of the folder).
    pub tables: Option<Vec<String>>,
}

/// A name the session answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// `dataset.table`.
    pub name: String,
    /// The chain folder.
    pub folder: String,
    /// `table` or `view`.
    pub kind: &'static str,
    /// Chunk files (0 for views).
    pub chunks: usize,
    /// First and last block of the chunks.
    pub blocks: Option<(u64, u64)>,
}

/// The SQL engine over one lake.
pub struct Engine {
    ctx: SessionContext,
    datasets: Vec<Dataset>,
    relations: Vec<Relation>,
    view_errors: Vec<(String, String)>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("relations", &self.relations.len())
            .finish()
    }
}

/// Checks that a chunk ends with Parquet's footer magic (a truncated or foreign file does
/// not), so a damaged lake is reported by file name before any query runs.
fn check_chunk(c: &Chunk) -> Result<(), SqlError> {
    let bad = |m: String| SqlError::Chunk {
        path: c.path.clone(),
        message: m,
    };
    let mut f = std::fs::File::open(&c.path).map_err(|e| bad(e.to_string()))?;
    let len = f.metadata().map_err(|e| bad(e.to_string()))?.len();
    if len < 12 {
        return Err(bad(format!(
            "{len} bytes: too short for Parquet (truncated?)"
        )));
    }
    let mut tail = [0u8; 4];
    f.seek(SeekFrom::End(-4))
        .and_then(|_| f.read_exact(&mut tail))
        .map_err(|e| bad(e.to_string()))?;
    if &tail != b"PAR1" {
        return Err(bad(format!(
            "no Parquet footer at byte {} (truncated or not Parquet)",
            len - 4
        )));
    }
    Ok(())
}

impl Engine {
    /// Opens the lake at `root`: every chain folder becomes a dataset, every table with
    /// Parquet chunks a table, and the views and helper functions are registered.
    pub async fn open(root: &Path, options: &Options) -> Result<Engine, SqlError> {
        if !root.is_dir() {
            return Err(SqlError::Lake {
                path: root.to_path_buf(),
                message: "no such lake folder".into(),
            });
        }
        let mut datasets = catalog::discover(root, &options.aliases)?;
        if let Some(scope) = &options.scope {
            datasets.retain(|d| d.folder == scope.chain);
            for d in &mut datasets {
                for t in d.tables.values_mut() {
                    t.chunks
                        .retain(|c| c.range.start >= scope.from && c.range.end <= scope.to);
                }
                d.tables.retain(|name, t| {
                    !t.chunks.is_empty()
                        && scope.tables.as_ref().is_none_or(|only| only.contains(name))
                });
            }
            datasets.retain(|d| !d.tables.is_empty());
        }
        let mut config = SessionConfig::new().with_information_schema(true);
        if let Some(p) = options.partitions {
            config = config.with_target_partitions(p.max(1));
        }
        // one dataset: its tables also answer without the dataset name
        if let [only] = datasets.as_slice() {
            config = config.with_default_catalog_and_schema("datafusion", &only.name);
        }
        // FROM 'path/to/file.parquet' reads a file directly
        let ctx = SessionContext::new_with_config(config).enable_url_table();
        crate::functions::register(&ctx);
        let catalog = ctx
            .catalog("datafusion")
            .ok_or_else(|| SqlError::Query("DataFusion has no default catalog".into()))?;
        let mut relations = Vec::new();
        let mut view_errors = Vec::new();
        for d in &datasets {
            let names: Vec<&String> = std::iter::once(&d.name).chain(d.aliases.iter()).collect();
            let mut schemas: Vec<Arc<dyn SchemaProvider>> = Vec::new();
            for n in &names {
                let s = match catalog.schema(n) {
                    Some(s) => s,
                    None => {
                        let s: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
                        catalog
                            .register_schema(n, s.clone())
                            .map_err(SqlError::from_datafusion)?;
                        s
                    }
                };
                schemas.push(s);
            }
            for t in d.tables.values() {
                for c in &t.chunks {
                    check_chunk(c)?;
                }
                let provider = LakeTable::open(&ctx.state(), t.chunks.clone())
                    .await
                    .map_err(|e| SqlError::Chunk {
                        path: t.chunks[0].path.clone(),
                        message: SqlError::from_datafusion(e).to_string(),
                    })?;
                let provider = Arc::new(provider);
                for (n, s) in names.iter().zip(&schemas) {
                    s.register_table(t.name.clone(), provider.clone())
                        .map_err(SqlError::from_datafusion)?;
                    relations.push(Relation {
                        name: format!("{n}.{}", t.name),
                        folder: d.folder.clone(),
                        kind: "table",
                        chunks: t.chunks.len(),
                        blocks: Some((
                            t.chunks.iter().map(|c| c.range.start).min().unwrap_or(0),
                            t.chunks.iter().map(|c| c.range.end).max().unwrap_or(0),
                        )),
                    });
                }
            }
            for n in &names {
                for v in views::views(d, n) {
                    let ddl = format!("CREATE VIEW {n}.{} AS {}", v.name, v.sql);
                    match ctx.sql(&ddl).await {
                        Ok(_) => relations.push(Relation {
                            name: format!("{n}.{}", v.name),
                            folder: d.folder.clone(),
                            kind: "view",
                            chunks: 0,
                            blocks: None,
                        }),
                        Err(e) => {
                            let name = format!("{n}.{}", v.name);
                            let e = SqlError::from_datafusion(e).to_string();
                            tracing::warn!(view = %name, error = %e, "view not created");
                            view_errors.push((name, e));
                        }
                    }
                }
            }
        }
        relations.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Engine {
            ctx,
            datasets,
            relations,
            view_errors,
        })
    }

    /// The DataFusion session.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The datasets found in the lake.
    pub fn datasets(&self) -> &[Dataset] {
        &self.datasets
    }

    /// Every table and view, by qualified name.
    pub fn relations(&self) -> &[Relation] {
        &self.relations
    }

    /// Views that could not be created (their tables lack a column, e.g. a lake written
    /// by an older export): (view, error).
    pub fn view_errors(&self) -> &[(String, String)] {
        &self.view_errors
    }

    /// The schema of a table or view (`dataset.table`, or `table` in a one-chain lake).
    pub async fn describe(&self, name: &str) -> Result<SchemaRef, SqlError> {
        self.check_names(&[datafusion::common::TableReference::from(name)])?;
        let df = self
            .ctx
            .table(name)
            .await
            .map_err(SqlError::from_datafusion)?;
        Ok(Arc::new(df.schema().as_arrow().clone()))
    }

    fn check_names(&self, refs: &[datafusion::common::TableReference]) -> Result<(), SqlError> {
        for r in refs {
            let is_path = r.schema().is_none()
                && (r.table().contains('/')
                    || [".parquet", ".csv", ".json", ".arrow"]
                        .iter()
                        .any(|e| r.table().ends_with(e)));
            if is_path {
                continue;
            }
            let exists = self.ctx.table_exist(r.clone()).unwrap_or(false);
            if !exists {
                let written = r.to_string();
                let suggestion =
                    text::closest(&written, self.relations.iter().map(|r| r.name.as_str()))
                        .map(String::from);
                return Err(SqlError::UnknownTable {
                    name: written,
                    suggestion,
                });
            }
        }
        Ok(())
    }

    /// Plans one statement. BigQuery's back-quoted table paths are accepted; a table that
    /// does not exist is reported with the closest existing name.
    pub async fn sql(&self, query: &str) -> Result<DataFrame, SqlError> {
        let query = text::rewrite_bigquery_paths(query);
        let state = self.ctx.state();
        let stmt = state
            .sql_to_statement(&query, &Dialect::Generic)
            .map_err(SqlError::from_datafusion)?;
        let refs = state
            .resolve_table_references(&stmt)
            .map_err(SqlError::from_datafusion)?;
        // names created by the statement itself (CREATE VIEW x AS …) are not looked up
        if !matches!(
            stmt,
            datafusion::sql::parser::Statement::Statement(ref s)
                if matches!(**s, datafusion::sql::sqlparser::ast::Statement::CreateView(_)
                    | datafusion::sql::sqlparser::ast::Statement::CreateTable(_))
        ) {
            self.check_names(&refs)?;
        }
        let plan = state
            .statement_to_plan(stmt)
            .await
            .map_err(SqlError::from_datafusion)?;
        self.ctx
            .execute_logical_plan(plan)
            .await
            .map_err(SqlError::from_datafusion)
    }
}
