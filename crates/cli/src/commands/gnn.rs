//! `ledgerflow gnn`.

use std::process::ExitCode;

use eyre::{bail, eyre};
use ledgerflow_gnn::edges::{ColumnSpec, EdgeSource, Header, ReadOptions};
use ledgerflow_gnn::node_task::{self, NodeTask};
use ledgerflow_gnn::train::{Arch, TrainOptions};

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, StringArray};
use arrow::record_batch::RecordBatch;
use eyre::WrapErr;
use ledgerflow_gnn::infer::{self, Applied, Apply};

use crate::args::{
    GnnApplyArgs, GnnEdgeArgs, GnnFormat, GnnLevel, GnnModelKind, GnnTask, GnnTrainArgs, GnnWlArgs,
    HeaderArg, SimilarArgs,
};

/// The model file's name in its folder.
pub const MODEL_FILE: &str = "model.lfg";

/// How to read the edge file, from --columns and --header.
/// Where the graph comes from: --edges FILE, or --lake with --chain (and --level).
fn edge_source(a: &GnnEdgeArgs, signed: bool) -> eyre::Result<EdgeSource> {
    match (&a.edges, &a.lake) {
        (Some(_), None) if a.level != GnnLevel::Address => bail!(
            "--level {} reads a lake's graph: give --lake LAKE --chain CHAIN instead of --edges",
            match a.level {
                GnnLevel::Entity => "entity",
                _ => "transaction",
            }
        ),
        (Some(path), None) => Ok(EdgeSource::File {
            path: path.clone(),
            read: read_options(a, signed)?,
        }),
        (None, Some(lake)) => {
            let Some(chain) = &a.chain else {
                bail!(
                    "--lake needs --chain (the chain whose graph `ledgerflow graph build` wrote)"
                );
            };
            if signed {
                bail!("--signed needs an edge file with a sign or rating column, not a lake graph");
            }
            let level = match a.level {
                GnnLevel::Address => ledgerflow_graph::store::Level::Address,
                GnnLevel::Entity => ledgerflow_graph::store::Level::Entity,
                GnnLevel::Transaction => {
                    return Ok(EdgeSource::Transactions {
                        lake: lake.clone(),
                        chain: chain.clone(),
                    })
                }
            };
            Ok(EdgeSource::Lake {
                lake: lake.clone(),
                chain: chain.clone(),
                level,
            })
        }
        (Some(_), Some(_)) => bail!("give --edges or --lake, not both"),
        (None, None) => bail!("the graph: --edges FILE, or --lake LAKE --chain CHAIN"),
    }
}

fn read_options(a: &GnnEdgeArgs, signed: bool) -> eyre::Result<ReadOptions> {
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
    ledgerflow_gnn::dense::set_threads(a.threads);
    if a.task == GnnTask::Link {
        return link(a);
    }
    if a.task == GnnTask::Anomaly {
        return anomaly(a);
    }
    let (Some(features), Some(label), Some(output)) =
        (a.features.clone(), a.label.clone(), a.output.clone())
    else {
        bail!("--task node needs --features, --label and -o/--output");
    };
    if a.dim == 0 || a.epochs == 0 || a.heads == 0 || a.heads > 64 {
        bail!("--dim and --epochs must be at least 1, --heads 1 to 64");
    }
    let dropout = a.dropout.unwrap_or(0.5);
    if !(0.0..1.0).contains(&dropout) {
        bail!("--dropout must be in [0, 1)");
    }
    if !(a.lr > 0.0 && a.lr.is_finite()) {
        bail!("--lr must be a positive number");
    }
    let task = NodeTask {
        edges: edge_source(&a.input, false)?,
        features,
        id: a.id.clone(),
        label,
        exclude: a.exclude.clone(),
        arch: match a.model {
            GnnModelKind::Gcn => Arch::Gcn,
            GnnModelKind::Sage => Arch::Sage,
            GnnModelKind::Gat => Arch::Gat,
        },
        train: TrainOptions {
            hidden: a.dim,
            epochs: a.epochs,
            lr: a.lr,
            weight_decay: a.weight_decay.unwrap_or(5e-4),
            dropout,
            heads: a.heads,
            patience: a.patience,
            balanced: a.balanced,
            seed: a.seed,
        },
        test_fraction: a.test_fraction,
        val_fraction: a.val_fraction,
        split_column: a.split_col.clone(),
        batch: match a.batch_size {
            None => None,
            Some(0) => bail!("--batch-size must be at least 1"),
            Some(size) => {
                let f: Vec<usize> = a
                    .fanout
                    .split(',')
                    .map(|x| x.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| eyre!("--fanout {:?}: two counts, e.g. 25,10", a.fanout))?;
                let [f1, f2] = f[..] else {
                    bail!("--fanout {:?}: two counts, e.g. 25,10", a.fanout);
                };
                if f1 == 0 || f2 == 0 {
                    bail!("--fanout counts must be at least 1");
                }
                Some(ledgerflow_gnn::sample::BatchOptions {
                    batch_size: size,
                    fanout: [f1, f2],
                })
            }
        },
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
                "output": output, "train_seconds": r.train_seconds,
                "epoch_ms": r.train_seconds * 1e3 / m.epochs_run.max(1) as f64,
                "threads": ledgerflow_gnn::dense::threads(),
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
        return link_prediction(a);
    }
    if !(a.test_fraction > 0.0 && a.test_fraction < 1.0) {
        bail!("--test-fraction must be in (0, 1)");
    }
    if a.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let src = edge_source(&a.input, true)?;
    let (el, _) = src.read()?;
    let mut p = ledgerflow_ml::Params::new(ledgerflow_ml::Algo::Gbt);
    p.trees = u32::try_from(a.epochs).unwrap_or(u32::MAX);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (m, name) = match a.sign_model {
        crate::args::SignModelArg::Sgcn => {
            let o = ledgerflow_gnn::sgcn::SgcnOptions {
                half: a.dim.max(1),
                epochs: a.epochs,
                lr: a.lr,
                weight_decay: a.weight_decay.unwrap_or(1e-4),
                patience: a.patience,
                seed: a.seed,
            };
            (
                ledgerflow_gnn::sign::run_sgcn(&el, a.test_fraction, a.seed, &o),
                "sgcn",
            )
        }
        kind => {
            let model = if kind == crate::args::SignModelArg::Balance {
                ledgerflow_gnn::sign::SignModel::Balance
            } else {
                ledgerflow_gnn::sign::SignModel::Degrees
            };
            (
                ledgerflow_gnn::sign::run(&el, a.test_fraction, a.seed, &p, threads, model),
                model.name(),
            )
        }
    };
    let m = m.map_err(|e| eyre!("{}: {e}", src.describe()))?;
    match a.format {
        GnnFormat::Json => println!(
            "{}",
            serde_json::json!({
                "task": "link", "signed": true, "model": name,
                "auc": m.auc, "f1_macro": m.f1_macro, "seed": m.seed,
                "train_edges": m.train_edges, "test_edges": m.test_edges,
                "positive_share": m.positive_share, "nodes": el.nodes.len(),
            })
        ),
        GnnFormat::Text => println!(
            "edge signs of {} ({} nodes): AUC {:.4}, macro F1 {:.4} on {} held-out edges \
             ({:.1} % positive), trained on {}",
            src.describe(),
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

fn apply(a: &GnnApplyArgs) -> eyre::Result<Applied> {
    ledgerflow_gnn::dense::set_threads(a.threads);
    if let Some(dir) = a.output.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!(
                "-o {}: no such folder {}",
                a.output.display(),
                dir.display()
            );
        }
    }
    Ok(infer::apply(&Apply {
        model: a.model.clone(),
        edges: edge_source(&a.input, false)?,
        features: a.features.clone(),
        id: a.id.clone(),
    })?)
}

/// Writes `names`/`cols` to `path`: Parquet for *.parquet, else CSV (atomically).
fn write_table(
    path: &std::path::Path,
    names: Vec<String>,
    cols: Vec<ArrayRef>,
) -> eyre::Result<()> {
    let batch = RecordBatch::try_from_iter(names.into_iter().zip(cols))
        .wrap_err("building the output table")?;
    if path.extension().is_some_and(|e| e == "parquet") {
        ledgerflow_lake::writer::write_parquet(
            path,
            &[batch],
            &ledgerflow_lake::WriteOptions::default(),
        )?;
    } else {
        let buf = ledgerflow_ml::output::csv_bytes(&batch)?;
        ledgerflow_lake::writer::write_bytes_atomic(path, &buf)?;
    }
    Ok(())
}

/// Writes one row per node: its id (column `id_name`), then `x`'s columns named
/// `{prefix}_0`, `{prefix}_1`, ….
fn write_matrix(
    path: &std::path::Path,
    id_name: &str,
    ids: &[String],
    prefix: &str,
    x: &ledgerflow_gnn::dense::Mat,
) -> eyre::Result<()> {
    let mut names = vec![id_name.to_string()];
    let mut cols: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(ids.iter()))];
    for c in 0..x.cols {
        names.push(format!("{prefix}_{c}"));
        cols.push(Arc::new(Float64Array::from_iter_values(
            (0..x.rows).map(|i| x.row(i)[c]),
        )));
    }
    write_table(path, names, cols)
}

/// Writes `dir/metrics.json` (pretty, atomically): `v` and the code version.
fn write_metrics(dir: &std::path::Path, mut v: serde_json::Value) -> eyre::Result<()> {
    v["code"] = serde_json::to_value(ledgerflow_ml::manifest::CodeVersion::current())?;
    let mut m = serde_json::to_string_pretty(&v)?;
    m.push('\n');
    ledgerflow_lake::writer::write_bytes_atomic(&dir.join("metrics.json"), m.as_bytes())?;
    Ok(())
}

/// `gnn predict`.
pub fn predict(a: GnnApplyArgs) -> eyre::Result<ExitCode> {
    let r = apply(&a)?;
    let k = r.model.classes.len();
    let pred: Vec<usize> = (0..r.nodes.len())
        .map(|i| {
            let row = r.probs.row(i);
            (0..k).fold(0, |b, c| if row[c] > row[b] { c } else { b })
        })
        .collect();
    let mut names = vec![a.id.clone(), "prediction".into(), "score".into()];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(r.nodes.iter())),
        Arc::new(StringArray::from_iter_values(
            pred.iter().map(|&c| r.model.classes[c].as_str()),
        )),
        Arc::new(Float64Array::from_iter_values(
            pred.iter().enumerate().map(|(i, &c)| r.probs.row(i)[c]),
        )),
    ];
    for (c, class) in r.model.classes.iter().enumerate() {
        names.push(format!("p_{class}"));
        cols.push(Arc::new(Float64Array::from_iter_values(
            (0..r.nodes.len()).map(|i| r.probs.row(i)[c]),
        )));
    }
    write_table(&a.output, names, cols)?;
    eprintln!(
        "scored {} nodes ({} edges, {} without features) with {} {}; wrote {}",
        r.nodes.len(),
        r.edges,
        r.report.without_features,
        r.model.net.arch().name(),
        r.model_sha256,
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `gnn embed`.
pub fn embed(a: GnnApplyArgs) -> eyre::Result<ExitCode> {
    let r = apply(&a)?;
    let h = r.embedding.cols;
    write_matrix(&a.output, &a.id, &r.nodes, "emb", &r.embedding)?;
    eprintln!(
        "embedded {} nodes in {h} dimensions with {} {}; wrote {}",
        r.nodes.len(),
        r.model.net.arch().name(),
        r.model_sha256,
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `--task link` without --signed: which links appear.
fn link_prediction(a: GnnTrainArgs) -> eyre::Result<ExitCode> {
    use ledgerflow_gnn::link;
    let dropout = a.dropout.unwrap_or(0.0);
    if !(0.0..1.0).contains(&dropout) {
        bail!("--dropout must be in [0, 1)");
    }
    if !(a.lr > 0.0 && a.lr.is_finite()) {
        bail!("--lr must be a positive number");
    }
    let src = edge_source(&a.input, false)?;
    let (mut el, record) = src.read()?;
    let x = match &a.features {
        Some(f) => {
            let nd = ledgerflow_gnn::nodes::join(&mut el, f, &a.id, None, &a.exclude)?;
            Some(standardised(&nd))
        }
        None => None,
    };
    let o = link_options(&a, dropout);
    let r = link::run(&el, x, &o).map_err(|e| eyre!("{}: {e}", src.describe()))?;
    let summary = serde_json::json!({
        "task": "link", "signed": false, "model": "gae-gcn", "split": o.split,
        "auc": r.gae.auc, "ap": r.gae.ap, "mrr": r.gae.mrr,
        "hits@1": r.gae.hits_at_1, "hits@10": r.gae.hits_at_10, "hits@50": r.gae.hits_at_50,
        "map_windows": r.gae.window_map, "mrr_windows": r.gae.window_mrr,
        "baseline": {"model": "adamic-adar", "auc": r.adamic_adar.auc, "ap": r.adamic_adar.ap,
                     "mrr": r.adamic_adar.mrr, "hits@1": r.adamic_adar.hits_at_1,
                     "hits@10": r.adamic_adar.hits_at_10, "hits@50": r.adamic_adar.hits_at_50,
                     "map_windows": r.adamic_adar.window_map,
                     "mrr_windows": r.adamic_adar.window_mrr},
        "snapshots": r.snapshots,
        "nodes": r.nodes, "links": r.links, "train_links": r.train_links,
        "val_links": r.val_links, "test_links": r.test_links, "negatives": o.negatives,
        "best_epoch": r.best_epoch, "epochs_run": r.epochs_run, "seed": a.seed,
    });
    if let Some(dir) = &a.output {
        std::fs::create_dir_all(dir)?;
        write_matrix(
            &dir.join("embeddings.parquet"),
            &a.id,
            &el.nodes,
            "emb",
            &r.embedding,
        )?;
        write_metrics(
            dir,
            serde_json::json!({
                "summary": summary, "options": o, "history": r.history, "edges": record,
            }),
        )?;
    }
    match a.format {
        GnnFormat::Json => println!("{summary}"),
        GnnFormat::Text => {
            let line = |name: &str, m: &ledgerflow_gnn::link::LinkMetrics| {
                println!(
                    "{name:<12} AUC {:.4}  AP {:.4}  MRR {:.4}  Hits@1 {:.4}  Hits@10 {:.4}  Hits@50 {:.4}{}",
                    m.auc, m.ap, m.mrr, m.hits_at_1, m.hits_at_10, m.hits_at_50,
                    match (m.window_map, m.window_mrr) {
                        (Some(p), Some(q)) => format!("  windows: MAP {p:.4} MRR {q:.4}"),
                        _ => String::new(),
                    }
                )
            };
            println!(
                "links of {} ({} nodes, {} links; train/val/test {}/{}/{}, {:?} split; best epoch {} of {})",
                src.describe(), r.nodes, r.links, r.train_links, r.val_links,
                r.test_links, o.split, r.best_epoch, r.epochs_run
            );
            line("gae", &r.gae);
            line("adamic-adar", &r.adamic_adar);
            if let Some(sn) = &r.snapshots {
                println!(
                    "snapshots of {} time units: {} test steps, {} links ({} repeated or reciprocated)",
                    sn.seconds, sn.steps, sn.links, sn.repeated
                );
                for (name, m) in [
                    ("gae", sn.gae),
                    ("adamic-adar", sn.adamic_adar),
                    ("history", sn.history),
                    ("activity", sn.activity),
                    ("reciprocity", sn.reciprocity),
                ] {
                    println!("  {name:<12} MAP {:.4}  MRR {:.4}", m.map, m.mrr);
                }
                println!(
                    "  (reciprocity weight {} chosen on {} validation steps)",
                    sn.reciprocity_weight, sn.val_steps
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The auto-encoder's settings from the command line (--task link and anomaly).
fn link_options(a: &GnnTrainArgs, dropout: f64) -> ledgerflow_gnn::link::LinkOptions {
    use ledgerflow_gnn::link::{LinkOptions, SplitKind};
    LinkOptions {
        train: TrainOptions {
            hidden: a.hidden,
            epochs: a.epochs,
            lr: a.lr,
            weight_decay: a.weight_decay.unwrap_or(0.0),
            dropout,
            heads: 1,
            patience: a.patience,
            balanced: false,
            seed: a.seed,
        },
        dim: a.dim,
        split: match a.split {
            crate::args::GnnSplit::Random => SplitKind::Random,
            crate::args::GnnSplit::Time => SplitKind::Time,
        },
        test_fraction: a.test_fraction,
        val_fraction: a.val_fraction,
        negatives: a.negatives,
        random_features: a.random_features,
        learned_features: a.learned_features,
        windows: a.windows,
        rolling: a.rolling,
        snapshot: a.snapshot,
    }
}

/// `--task anomaly`.
fn anomaly(a: GnnTrainArgs) -> eyre::Result<ExitCode> {
    use ledgerflow_gnn::anomaly::{self, quality, ranking};
    let dropout = a.dropout.unwrap_or(0.0);
    if !(0.0..1.0).contains(&dropout) {
        bail!("--dropout must be in [0, 1)");
    }
    if a.label.is_some() && a.features.is_none() {
        bail!("--label needs --features (the node table that holds it)");
    }
    let src = edge_source(&a.input, false)?;
    let (mut el, record, builtin) = src.read_with_features()?;
    // a graph with its own features (the transaction graph) takes ids and labels only
    // from the table
    let nd = match (&a.features, &builtin) {
        (Some(f), Some(_)) => Some(ledgerflow_gnn::nodes::join_labels(
            &mut el,
            f,
            &a.id,
            a.label.as_deref(),
        )?),
        (Some(f), None) => Some(ledgerflow_gnn::nodes::join(
            &mut el,
            f,
            &a.id,
            a.label.as_deref(),
            &a.exclude,
        )?),
        (None, _) => None,
    };
    let x = node_inputs(el.nodes.len(), builtin.as_ref(), nd.as_ref());
    let (truth, positive) = match (&nd, &a.label) {
        (Some(nd), Some(_)) => {
            let count = |c: usize| nd.labels.iter().filter(|l| **l == Some(c as u32)).count();
            let pos: Vec<usize> = match &a.positive {
                Some(p) => p
                    .split(',')
                    .map(|p| {
                        nd.classes
                            .iter()
                            .position(|c| c == p.trim())
                            .ok_or_else(|| {
                                eyre!("--positive {}: the labels are {:?}", p.trim(), nd.classes)
                            })
                    })
                    .collect::<eyre::Result<_>>()?,
                None => (0..nd.classes.len())
                    .min_by_key(|&c| (count(c), c))
                    .into_iter()
                    .collect(),
            };
            let truth: Vec<Option<bool>> = nd
                .labels
                .iter()
                .map(|l| l.map(|c| pos.contains(&(c as usize))))
                .collect();
            let names: Vec<&str> = pos.iter().map(|&c| nd.classes[c].as_str()).collect();
            (Some(truth), Some(names.join(",")))
        }
        _ => (None, None),
    };
    let o = link_options(&a, dropout);
    let r = anomaly::run(&el, x.as_ref(), &o).map_err(|e| eyre!("{}: {e}", src.describe()))?;
    let s = &r.scores;
    // a transaction graph's CoinJoin/peeling-chain marks (isolated nodes a table added
    // after the graph's: none)
    let typology: Option<(Vec<f64>, Vec<String>)> =
        builtin.as_ref().and_then(|b| b.typology.as_ref()).map(|t| {
            let (mut sc, mut pat) = (t.score.clone(), t.pattern.clone());
            sc.resize(r.nodes, 0.0);
            pat.resize(r.nodes, String::new());
            (sc, pat)
        });
    let typo = typology.as_ref().map(|t| &t.0);
    // the unsupervised rankings, by name (typology on a transaction graph only)
    let unsupervised: Vec<(&str, &Vec<f64>)> = [
        ("gae", &s.gae),
        ("oddball", &s.oddball),
        ("iforest", &s.iforest),
    ]
    .into_iter()
    .chain(typo.map(|v| ("typology", v)))
    .collect();
    let mut ks = vec![10, 50, 100];
    if !ks.contains(&a.top) && a.top > 0 {
        ks.push(a.top);
        ks.sort_unstable();
    }
    // with labels: a GNN trained on the earliest labelled nodes ranks the latest, beside
    // the unsupervised rankings over the same held-out nodes
    let arch = match a.model {
        GnnModelKind::Gcn => Arch::Gcn,
        GnnModelKind::Sage => Arch::Sage,
        GnnModelKind::Gat => Arch::Gat,
    };
    let sup = match (&truth, &x) {
        (Some(t), Some(x)) => Some(anomaly::supervised(
            &el,
            x,
            t,
            arch,
            &TrainOptions {
                heads: a.heads,
                weight_decay: a.weight_decay.unwrap_or(5e-4),
                ..o.train.clone()
            },
            a.test_fraction,
            a.val_fraction,
        )),
        _ => None,
    };
    // the truth of the held-out nodes only (the supervised ranking's test)
    let held: Option<Vec<Option<bool>>> = match (&sup, &truth) {
        (Some(Ok(v)), Some(t)) => Some(
            t.iter()
                .zip(&v.test)
                .map(|(x, &k)| if k { *x } else { None })
                .collect(),
        ),
        _ => None,
    };
    let evaluation = truth.as_ref().map(|t| {
        let supervised = match (&sup, &held) {
            (Some(Ok(v)), Some(held)) => {
                serde_json::json!({
                    "model": arch.name(),
                    "split": "node order (a transaction graph: chain order)",
                    "train_nodes": v.train_nodes, "val_nodes": v.val_nodes,
                    "test_nodes": v.test_nodes,
                    "test_anomalies": held.iter().filter(|x| **x == Some(true)).count(),
                    "best_epoch": v.best_epoch, "epochs_run": v.epochs_run,
                    "held_out": {
                        "supervised": quality(&v.score, held, &ks),
                        "gae": quality(&s.gae, held, &ks),
                        "oddball": quality(&s.oddball, held, &ks),
                        "iforest": quality(&s.iforest, held, &ks),
                        "typology": typo.map(|v| quality(v, held, &ks)),
                    },
                })
            }
            (Some(Err(e)), _) => serde_json::json!({ "skipped": e }),
            _ => serde_json::json!({ "skipped": "no node features" }),
        };
        serde_json::json!({
            "positive": positive,
            "labelled": t.iter().filter(|x| x.is_some()).count(),
            "anomalies": t.iter().filter(|x| **x == Some(true)).count(),
            "gae": quality(&s.gae, t, &ks),
            "oddball": quality(&s.oddball, t, &ks),
            "iforest": quality(&s.iforest, t, &ks),
            "typology": typo.map(|v| quality(v, t, &ks)),
            "supervised": supervised,
        })
    });
    let sup_score = match &sup {
        Some(Ok(v)) => Some(&v.score),
        _ => None,
    };
    let ranked_by = match a.rank_by {
        crate::args::AnomalyRank::Gae => &s.gae,
        crate::args::AnomalyRank::Oddball => &s.oddball,
        crate::args::AnomalyRank::Iforest => &s.iforest,
        crate::args::AnomalyRank::Supervised => match sup_score {
            Some(v) => v,
            None => bail!(
                "--rank-by supervised needs --label (and --features): {}",
                match &sup {
                    Some(Err(e)) => e.as_str(),
                    _ => "no labels",
                }
            ),
        },
        crate::args::AnomalyRank::Typology => match typo {
            Some(v) => v,
            None => bail!(
                "--rank-by typology needs a transaction graph (--lake L --chain C --level transaction)"
            ),
        },
    };
    let order = ranking(ranked_by);
    let top: Vec<serde_json::Value> = order
        .iter()
        .take(a.top)
        .map(|&i| {
            serde_json::json!({
                "id": el.nodes[i], "gae": s.gae[i], "oddball": s.oddball[i],
                "iforest": s.iforest[i],
                "supervised": sup_score.map(|v| v[i]),
                "typology": typo.map(|v| v[i]),
                "pattern": typology.as_ref().map(|t| t.1[i].as_str()),
                "degree": s.degree[i], "ego_edges": s.ego_edges[i],
                "truth": truth.as_ref().and_then(|t| t[i]),
            })
        })
        .collect();
    let summary = serde_json::json!({
        "task": "anomaly", "model": "gae-gcn", "baseline": "oddball",
        "features": if builtin.is_some() { "transaction shape" } else if nd.is_some() { "table" } else { "structural" },
        "nodes": r.nodes, "links": r.links, "alpha": r.alpha, "c": r.c,
        "best_epoch": r.best_epoch, "epochs_run": r.epochs_run,
        "evaluation": evaluation, "top": top, "seed": a.seed,
    });
    if let Some(dir) = &a.output {
        std::fs::create_dir_all(dir)?;
        let mut rank_of = vec![0u32; r.nodes];
        for (k, &i) in order.iter().enumerate() {
            rank_of[i] = k as u32 + 1;
        }
        let names = vec![
            a.id.clone(),
            "rank".into(),
            "gae_score".into(),
            "oddball_score".into(),
            "iforest_score".into(),
            "supervised_score".into(),
            "typology_score".into(),
            "pattern".into(),
            "degree".into(),
            "ego_edges".into(),
        ];
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(el.nodes.iter())),
            Arc::new(arrow::array::UInt32Array::from(rank_of)),
            Arc::new(Float64Array::from(s.gae.clone())),
            Arc::new(Float64Array::from(s.oddball.clone())),
            Arc::new(Float64Array::from(s.iforest.clone())),
            Arc::new(Float64Array::from(match sup_score {
                Some(v) => v.iter().map(|&x| Some(x)).collect::<Vec<_>>(),
                None => vec![None; r.nodes],
            })),
            Arc::new(Float64Array::from(match typo {
                Some(v) => v.iter().map(|&x| Some(x)).collect::<Vec<_>>(),
                None => vec![None; r.nodes],
            })),
            Arc::new(StringArray::from(match &typology {
                Some(t) => t.1.iter().map(|p| Some(p.as_str())).collect::<Vec<_>>(),
                None => vec![None; r.nodes],
            })),
            Arc::new(arrow::array::UInt32Array::from(s.degree.clone())),
            Arc::new(arrow::array::UInt64Array::from(s.ego_edges.clone())),
        ];
        write_table(&dir.join("node_scores.parquet"), names, cols)?;
        let names = vec!["source".into(), "target".into(), "gae_score".into()];
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                r.link_scores
                    .iter()
                    .map(|l| el.nodes[l.0 as usize].as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                r.link_scores
                    .iter()
                    .map(|l| el.nodes[l.1 as usize].as_str()),
            )),
            Arc::new(Float64Array::from_iter_values(
                r.link_scores.iter().map(|l| l.2),
            )),
        ];
        write_table(&dir.join("link_scores.parquet"), names, cols)?;
        write_metrics(
            dir,
            serde_json::json!({"summary": summary, "options": o, "edges": record}),
        )?;
    }
    match a.format {
        GnnFormat::Json => println!("{summary}"),
        GnnFormat::Text => {
            println!(
                "anomalies in {} ({} nodes, {} links; ego-net law E = {:.3}·N^{:.3})",
                src.describe(),
                r.nodes,
                r.links,
                r.c,
                r.alpha
            );
            if let (Some(t), Some(p)) = (&truth, &positive) {
                for (name, sc) in &unsupervised {
                    let q = quality_line(&quality(sc, t, &ks));
                    println!("{name:<8} finds {p:?}: {q}");
                }
            }
            if let Some(Ok(v)) = &sup {
                if let Some(held) = &held {
                    println!(
                        "held out: the latest {} labelled nodes ({} anomalies); {} trained on \
                         the {} before ({} for early stopping)",
                        v.test_nodes,
                        held.iter().filter(|x| **x == Some(true)).count(),
                        arch.name(),
                        v.train_nodes,
                        v.val_nodes
                    );
                    for (name, sc) in std::iter::once(("supervised", &v.score))
                        .chain(unsupervised.iter().copied())
                    {
                        let q = quality_line(&quality(sc, held, &ks));
                        println!("  {name:<10} {q}");
                    }
                }
            } else if let Some(Err(e)) = &sup {
                println!("supervised ranking skipped: {e}");
            }
            println!(
                "rank  id  gae  oddball  iforest  degree  ego_edges{}",
                if typology.is_some() { "  pattern" } else { "" }
            );
            for (k, &i) in order.iter().take(a.top).enumerate() {
                println!(
                    "{:>4}  {}  {:.4}  {:.3}  {:.4}  {}  {}{}{}",
                    k + 1,
                    el.nodes[i],
                    s.gae[i],
                    s.oddball[i],
                    s.iforest[i],
                    s.degree[i],
                    s.ego_edges[i],
                    match &typology {
                        Some(t) if !t.1[i].is_empty() => format!("  {}", t.1[i]),
                        _ => String::new(),
                    },
                    match truth.as_ref().and_then(|t| t[i]) {
                        Some(true) => "  *",
                        _ => "",
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A ranking's quality on one line: ROC-AUC, R-precision, precision at each k.
fn quality_line(q: &ledgerflow_gnn::anomaly::RankingQuality) -> String {
    format!(
        "ROC-AUC {}  R-precision {}  {}",
        q.auc.map_or("-".into(), |x| format!("{x:.4}")),
        q.r_precision.map_or("-".into(), |x| format!("{x:.3}")),
        q.precision_at
            .iter()
            .map(|(k, v)| format!("P@{k} {v:.3}"))
            .collect::<Vec<_>>()
            .join("  ")
    )
}

/// The node inputs of an unsupervised run, standardised over all nodes: the features
/// the graph came with (the transaction graph's), then the node table's numeric columns
/// (`None` when there is neither: structural inputs). Nodes the table added after the
/// graph's (isolated ones) take the graph features' column means.
fn node_inputs(
    n: usize,
    builtin: Option<&ledgerflow_gnn::edges::BuiltinFeatures>,
    nd: Option<&ledgerflow_gnn::nodes::NodeData>,
) -> Option<ledgerflow_gnn::dense::Mat> {
    use ledgerflow_gnn::dense::{column_scaling, standardise, Mat};
    let b = builtin.map_or(0, |b| b.names.len());
    // with the graph's own features the table brought ids and labels only
    let t = match (builtin, nd) {
        (None, Some(d)) => d.dim(),
        _ => 0,
    };
    if b + t == 0 {
        return None;
    }
    let mut raw = Mat::zeros(n, b + t);
    if let Some(bf) = builtin {
        let have = bf.x.rows.min(n);
        let means: Vec<f64> = (0..b)
            .map(|c| (0..have).map(|i| bf.x.row(i)[c]).sum::<f64>() / have.max(1) as f64)
            .collect();
        for i in 0..n {
            let src = if i < have { bf.x.row(i) } else { &means[..] };
            raw.data[i * (b + t)..i * (b + t) + b].copy_from_slice(src);
        }
    }
    if let (Some(d), true) = (nd, t > 0) {
        for i in 0..n.min(d.nodes.len()) {
            raw.data[i * (b + t) + b..(i + 1) * (b + t)].copy_from_slice(d.row(i));
        }
    }
    let all: Vec<usize> = (0..n).collect();
    Some(standardise(&raw, &column_scaling(&raw, &all)))
}

/// A node table's features standardised over all its nodes (no labels are read).
fn standardised(nd: &ledgerflow_gnn::nodes::NodeData) -> ledgerflow_gnn::dense::Mat {
    use ledgerflow_gnn::dense::{column_scaling, standardise, Mat};
    let n = nd.nodes.len();
    let raw = Mat::from_vec(n, nd.dim(), nd.x.clone());
    let all: Vec<usize> = (0..n).collect();
    standardise(&raw, &column_scaling(&raw, &all))
}

/// `gnn wl`.
pub fn wl(a: GnnWlArgs) -> eyre::Result<ExitCode> {
    use ledgerflow_gnn::similar;
    if a.dim == 0 {
        bail!("--dim must be at least 1");
    }
    let src = edge_source(&a.input, false)?;
    let (el, _) = src.read()?;
    let t = std::time::Instant::now();
    let sigs = similar::signatures(&el, a.rounds, a.hops);
    let secs = t.elapsed().as_secs_f64();
    let x = similar::hashed(&sigs, a.dim);
    write_matrix(&a.output, &a.id, &el.nodes, "wl", &x)?;
    eprintln!(
        "WL signatures of {} neighbourhoods ({} rounds, {} hops) in {secs:.2} s ({:.0} per s); wrote {}",
        el.nodes.len(),
        a.rounds,
        a.hops,
        el.nodes.len() as f64 / secs.max(1e-9),
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `ledgerflow similar`.
pub fn similar(a: SimilarArgs) -> eyre::Result<ExitCode> {
    use ledgerflow_gnn::similar;
    let src = edge_source(&a.input, false)?;
    let (el, _) = src.read()?;
    let Some(q) = el.nodes.iter().position(|n| n == &a.address) else {
        bail!(
            "{}: {} is not a node of the graph",
            src.describe(),
            a.address
        );
    };
    let sigs = similar::signatures(&el, a.rounds, a.hops);
    let top = similar::most_similar(&sigs, q, a.top);
    let labels = similar::node_labels(&el);
    if let Some(out) = &a.output {
        let names = vec![
            "query".into(),
            "rank".into(),
            "address".into(),
            "similarity".into(),
            "label".into(),
        ];
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                top.iter().map(|_| a.address.as_str()),
            )),
            Arc::new(arrow::array::UInt32Array::from_iter_values(
                (1..=top.len()).map(|r| r as u32),
            )),
            Arc::new(StringArray::from_iter_values(
                top.iter().map(|t| el.nodes[t.0].as_str()),
            )),
            Arc::new(Float64Array::from_iter_values(top.iter().map(|t| t.1))),
            Arc::new(StringArray::from_iter_values(
                top.iter().map(|t| labels[t.0].as_str()),
            )),
        ];
        write_table(out, names, cols)?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "query": a.address, "label": labels[q], "rounds": a.rounds, "hops": a.hops,
                "nodes": el.nodes.len(),
                "similar": top.iter().map(|t| serde_json::json!({
                    "address": el.nodes[t.0], "similarity": t.1, "label": labels[t.0],
                })).collect::<Vec<_>>(),
            })
        );
    } else {
        println!(
            "neighbourhoods like {} ({}; {} rounds, {} hops, {} nodes):",
            a.address,
            labels[q],
            a.rounds,
            a.hops,
            el.nodes.len()
        );
        for (k, t) in top.iter().enumerate() {
            println!(
                "{:>4}  {:.4}  {}  {}",
                k + 1,
                t.1,
                el.nodes[t.0],
                labels[t.0]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
