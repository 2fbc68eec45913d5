//! `ledgerflow gnn`.

use std::process::ExitCode;

use eyre::{bail, eyre};
use ledgerflow_gnn::edges::{ColumnSpec, Header, ReadOptions};
use ledgerflow_gnn::node_task::{self, NodeTask};
use ledgerflow_gnn::train::{Arch, TrainOptions};

use crate::args::{GnnFormat, GnnModelKind, GnnTask, GnnTrainArgs, HeaderArg};

/// The model file's name in its folder.
pub const MODEL_FILE: &str = "model.lfg";

pub fn train(a: GnnTrainArgs) -> eyre::Result<ExitCode> {
    let GnnTask::Node = a.task;
    if a.dim == 0 || a.epochs == 0 {
        bail!("--dim and --epochs must be at least 1");
    }
    if !(0.0..1.0).contains(&a.dropout) {
        bail!("--dropout must be in [0, 1)");
    }
    if !(a.lr > 0.0 && a.lr.is_finite()) {
        bail!("--lr must be a positive number");
    }
    let columns = match &a.columns {
        Some(c) => c.parse::<ColumnSpec>().map_err(|e| eyre!(e))?,
        None => ColumnSpec::Auto,
    };
    let task = NodeTask {
        edges: a.edges.clone(),
        read: ReadOptions {
            columns,
            header: match a.header {
                HeaderArg::Auto => Header::Detect,
                HeaderArg::Yes => Header::Present,
                HeaderArg::No => Header::Absent,
            },
            signed: false,
        },
        features: a.features.clone(),
        id: a.id.clone(),
        label: a.label.clone(),
        exclude: a.exclude.clone(),
        arch: match a.model {
            GnnModelKind::Gcn => Arch::Gcn,
            GnnModelKind::Sage => Arch::Sage,
        },
        train: TrainOptions {
            hidden: a.dim,
            epochs: a.epochs,
            lr: a.lr,
            weight_decay: a.weight_decay,
            dropout: a.dropout,
            patience: a.patience,
            balanced: a.balanced,
            seed: a.seed,
        },
        test_fraction: a.test_fraction,
        val_fraction: a.val_fraction,
    };
    let r = node_task::run(&task)?;
    std::fs::create_dir_all(&a.output)?;
    ledgerflow_lake::writer::write_bytes_atomic(&a.output.join(MODEL_FILE), &r.bytes)?;
    ledgerflow_lake::writer::write_bytes_atomic(
        &a.output.join("manifest.json"),
        r.manifest.to_json().as_bytes(),
    )?;
    let m = &r.manifest;
    match a.format {
        GnnFormat::Json => println!(
            "{}",
            serde_json::json!({
                "task": "node", "model": m.model, "model_sha256": m.model_sha256,
                "accuracy": m.metrics.accuracy, "f1_macro": m.metrics.f1_macro,
                "auc": m.metrics.auc, "test_nodes": m.metrics.test_nodes,
                "split": m.split, "best_epoch": m.best_epoch, "epochs_run": m.epochs_run,
                "nodes": m.join.nodes, "edges": m.join.edges,
                "without_features": m.join.without_features, "isolated": m.join.isolated,
                "output": a.output,
            })
        ),
        GnnFormat::Text => {
            println!(
                "{} on {} nodes, {} edges ({} without features, {} isolated); split train/val/test {}/{}/{}",
                m.model, m.join.nodes, m.join.edges, m.join.without_features, m.join.isolated,
                m.split[0], m.split[1], m.split[2]
            );
            println!(
                "test accuracy {:.4}, macro F1 {:.4}{}; best epoch {} of {}",
                m.metrics.accuracy,
                m.metrics.f1_macro,
                m.metrics
                    .auc
                    .map(|x| format!(", ROC-AUC {x:.4}"))
                    .unwrap_or_default(),
                m.best_epoch,
                m.epochs_run
            );
            println!(
                "model {} ({})",
                a.output.join(MODEL_FILE).display(),
                m.model_sha256
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
