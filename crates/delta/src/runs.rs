//! The Delta logs of an export run (`--format delta`): the chunk runner's commit hook.

use std::path::PathBuf;

use futures::future::BoxFuture;
use ledgerflow_lake::runner::{BoxError, ChunkPlan, CommitHook};
use ledgerflow_lake::Lake;

use crate::{DeltaError, DeltaTable};

/// The Delta log of every table of a run. As the runner's [`CommitHook`], it makes one
/// Delta commit per table for each chunk: the chunk's file added (re-added when
/// rewritten), the files it supersedes removed.
pub struct DeltaLogs {
    tables: Vec<DeltaTable>,
}

impl DeltaLogs {
    /// Opens (or creates) the log of each table and brings it in line with its folder
    /// first, so that chunks written by an interrupted run before its log commit are added.
    pub async fn open(lake: &Lake, chain: &str, tables: &[&str]) -> Result<Self, DeltaError> {
        let mut out = Vec::new();
        for t in tables {
            let mut d = DeltaTable::open(lake, chain, t).await?;
            let r = d.sync(lake).await?;
            if r.committed() {
                tracing::info!(target: "ledgerflow::export", table = t, version = ?r.version, added = r.added, replaced = r.replaced, removed = r.removed, "Delta log brought in line with the folder");
            }
            out.push(d);
        }
        Ok(DeltaLogs { tables: out })
    }

    /// Each table's version after the run, as `<table>: Delta version <v>`.
    pub fn versions(&self) -> Vec<String> {
        self.tables
            .iter()
            .map(|t| {
                format!(
                    "{}: Delta version {}",
                    t.dir()
                        .file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default(),
                    t.version()
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "-".into())
                )
            })
            .collect()
    }
}

impl CommitHook for DeltaLogs {
    fn commit<'a>(
        &'a mut self,
        plan: &'a ChunkPlan,
        written: &'a [PathBuf],
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            for t in &mut self.tables {
                t.commit(plan.range, written, &plan.superseded).await?;
            }
            Ok(())
        })
    }

    fn name(&self) -> &'static str {
        "Delta commit"
    }
}
