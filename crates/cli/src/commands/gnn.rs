//! `ledgerflow gnn`.

use std::process::ExitCode;

use eyre::{bail, eyre};
use ledgerflow_gnn::edges::{ColumnSpec, Header, ReadOptions};
use ledgerflow_gnn::node_task::{self, NodeTask};
use ledgerflow_gnn::train::{Arch, TrainOptions};

use crate::args::{GnnFormat, GnnModelKind, GnnTask, GnnTrainArgs, HeaderArg};

/// The model file's name in its folder.
pub const MODEL_FILE: &str = "model.lfg";

/// How to read the edge file, from --columns and --header.
fn read_options(a: &GnnTrainArgs, signed: bool) -> eyre::Result<ReadOptions> {
    Ok(ReadOptions {
        columns: match &a.columns {
            Some(c) => c.parse::<ColumnSpec>().map_err(|e| eyre!(e))?,
            None => ColumnSpec::Auto,
        },
        header: match a.header {
            HeaderArg::Auto => Header::Detect,
            HeaderArg::Yes => Header::Present,
            HeaderArg::No => Header::Absent,
        },
        signed,
    })
}

pub fn train(a: GnnTrainArgs) -> eyre::Result<ExitCode> {
    if a.task == GnnTask::Link {
        return link(a);
    }
    let (Some(features), Some(label), Some(output)) =
        (a.features.clone(), a.label.clone(), a.output.clone())
    else {
        bail!("--task node needs --features, --label and -o/--output");
    };
    if a.dim == 0 || a.epochs == 0 {
        bail!("--dim and --epochs must be at least 1");
    }
    if !(0.0..1.0).contains(&a.dropout) {
        bail!("--dropout must be in [0, 1)");
    }
    if !(a.lr > 0.0 && a.lr.is_finite()) {
        bail!("--lr must be a positive number");
    }
    let task = NodeTask {
        edges: a.edges.clone(),
        read: read_options(&a, false)?,
        features,
        id: a.id.clone(),
        label,
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
    std::fs::create_dir_all(&output)?;
    ledgerflow_lake::writer::write_bytes_atomic(&output.join(MODEL_FILE), &r.bytes)?;
    ledgerflow_lake::writer::write_bytes_atomic(
        &output.join("manifest.json"),
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
                "output": output,
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
                output.join(MODEL_FILE).display(),
                m.model_sha256
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--task link --signed`: the sign of held-out edges.
fn link(a: GnnTrainArgs) -> eyre::Result<ExitCode> {
    if !a.signed {
        bail!(
            "--task link predicts edge signs for now: add --signed (link prediction with \
             negative sampling is not built yet)"
        );
    }
    if !(a.test_fraction > 0.0 && a.test_fraction < 1.0) {
        bail!("--test-fraction must be in (0, 1)");
    }
    if a.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let el = ledgerflow_gnn::edges::read(&a.edges, &read_options(&a, true)?)?;
    let mut p = ledgerflow_ml::Params::new(ledgerflow_ml::Algo::Gbt);
    p.trees = u32::try_from(a.epochs).unwrap_or(u32::MAX);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let m = ledgerflow_gnn::sign::run(&el, a.test_fraction, a.seed, &p, threads)
        .map_err(|e| eyre!("{}: {e}", a.edges.display()))?;
    match a.format {
        GnnFormat::Json => println!(
            "{}",
            serde_json::json!({
                "task": "link", "signed": true, "model": "degree-features+gbt",
                "auc": m.auc, "f1_macro": m.f1_macro, "seed": m.seed,
                "train_edges": m.train_edges, "test_edges": m.test_edges,
                "positive_share": m.positive_share, "nodes": el.nodes.len(),
            })
        ),
        GnnFormat::Text => println!(
            "edge signs of {} ({} nodes): AUC {:.4}, macro F1 {:.4} on {} held-out edges \
             ({:.1} % positive), trained on {}",
            a.edges.display(),
            el.nodes.len(),
            m.auc,
            m.f1_macro,
            m.test_edges,
            m.positive_share * 100.0,
            m.train_edges
        ),
    }
    Ok(ExitCode::SUCCESS)
}
