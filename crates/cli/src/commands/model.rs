//! `ledgerflow model train|predict|evaluate|inspect|verify`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, Float64Array, StringArray, UInt32Array};
use arrow::record_batch::RecordBatch;
use eyre::{bail, eyre, WrapErr};
use ledgerflow_ml::manifest::{self, Manifest};
use ledgerflow_ml::metrics::{self, Report};
use ledgerflow_ml::model::{labelled, Model};
use ledgerflow_ml::split::{self, Split};
use ledgerflow_ml::table::{self, ColumnSpec, FeatureTable, TableSource};
use ledgerflow_ml::{Algo, Params};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::threads_or_cores;
use crate::args::{
    BenchPredictArgs, EvaluateArgs, InspectArgs, PredictArgs, PredictFormat, ReportFormat,
    SplitKind, TableArgs, TrainArgs, TrainParams, VerifyArgs,
};

/// Validated parameters from the flags.
pub fn params_from(a: &TrainParams) -> eyre::Result<Params> {
    let algo: Algo = a.algo.parse().map_err(|e: String| eyre!(e))?;
    let mut p = Params::new(algo);
    p.trees = a.trees;
    p.seed = a.seed;
    if a.max_depth.is_some() {
        p.max_depth = a.max_depth;
    }
    p.min_leaf = a.min_leaf;
    if let Some(m) = &a.max_features {
        p.max_features = m.clone();
    }
    p.class_weight = a.class_weight.parse().map_err(|e: String| eyre!(e))?;
    p.learning_rate = a.learning_rate;
    p.lambda = a.lambda;
    p.min_child_weight = a.min_child_weight;
    p.subsample = a.subsample;
    p.colsample = a.colsample;
    p.max_bins = a.max_bins;
    if a.no_bootstrap {
        p.bootstrap = false;
    }
    p.validate()?;
    Ok(p)
}

fn check_output_dir(dir: &Path) -> eyre::Result<()> {
    if dir.is_file() {
        bail!("-o {}: is a file; a model is a folder", dir.display());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            bail!("-o {}: no such folder {}", dir.display(), parent.display());
        }
    }
    Ok(())
}

fn top_importances(model: &Model, n: usize) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = model
        .features
        .iter()
        .cloned()
        .zip(model.importance.iter().copied())
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

pub fn train(a: TrainArgs) -> eyre::Result<ExitCode> {
    let params = params_from(&a.params)?;
    check_output_dir(&a.output)?;
    let threads = threads_or_cores(a.threads);
    let spec = ColumnSpec {
        id: a.table.id.clone(),
        label: Some(a.label.clone()),
        exclude: a.table.exclude.clone(),
        aux: Vec::new(),
        features: None,
    };
    let t0 = Instant::now();
    let mut table = table::load(&a.table.features, &spec)?;
    let joined = join_embeddings(&a.table, &mut table)?;
    let load_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut trained = manifest::train_recorded(
        &table,
        None,
        &a.table.id,
        &a.label,
        &a.table.exclude,
        None,
        &params,
        threads,
    )?;
    let train_s = t1.elapsed().as_secs_f64();
    trained.manifest.joined.extend(joined);
    manifest::write_model_dir(&a.output, &trained.bytes, &trained.manifest)?;
    let m = &trained.model;
    let depth = m.trees.iter().map(|t| t.depth()).max().unwrap_or(0);
    match a.format {
        ReportFormat::Json => {
            let v = serde_json::json!({
                "model": a.output, "sha256": trained.manifest.model_sha256,
                "bytes": trained.bytes.len(), "algo": params.algo.to_string(),
                "trees": m.trees.len(), "nodes": m.nodes(), "max_depth": depth,
                "features": m.features.len(), "training_rows": trained.manifest.training_rows,
                "unlabelled_rows": trained.manifest.unlabelled_rows,
                "classes": trained.manifest.classes,
                "importance": top_importances(m, m.features.len()),
                "seconds": {"load": load_s, "train": train_s},
                "threads": threads,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        ReportFormat::Text => {
            println!(
                "trained {} ({} trees, {} nodes, depth up to {depth}) on {} rows × {} features \
                 in {train_s:.2} s ({} threads; load {load_s:.2} s)",
                params.algo,
                m.trees.len(),
                m.nodes(),
                trained.manifest.training_rows,
                m.features.len(),
                threads
            );
            let classes: Vec<String> = trained
                .manifest
                .classes
                .iter()
                .map(|c| format!("{} ({})", c.class, c.rows))
                .collect();
            println!("classes: {}", classes.join(", "));
            if trained.manifest.unlabelled_rows > 0 {
                println!(
                    "{} rows without a label were skipped",
                    trained.manifest.unlabelled_rows
                );
            }
            println!("top features:");
            for (f, v) in top_importances(m, 5) {
                println!("  {v:.4}  {f}");
            }
            println!(
                "model {} (SHA-256 {})",
                a.output.join(ledgerflow_ml::model::MODEL_FILE).display(),
                trained.manifest.model_sha256
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn class_index(model: &Model, name: Option<&str>, flag: &str) -> eyre::Result<usize> {
    match name {
        None => Ok(model.k() - 1),
        Some(c) => model.classes.iter().position(|x| x == c).ok_or_else(|| {
            eyre!(
                "{flag} {c:?}: the model's classes are {}",
                model.classes.join(", ")
            )
        }),
    }
}

fn explain(model: &Model, table: &FeatureTable, row: usize, class: usize, n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    let x: Vec<f64> = (0..table.names.len()).map(|f| table.get(row, f)).collect();
    let c = model.contributions(&x, class);
    let mut order: Vec<usize> = (0..c.len()).collect();
    order.sort_by(|&a, &b| c[b].total_cmp(&c[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(n)
        .filter(|&f| c[f] > 0.0)
        .map(|f| format!("{}={:+.4}", model.features[f].trim(), c[f]))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn predict(a: PredictArgs) -> eyre::Result<ExitCode> {
    let threads = threads_or_cores(a.threads);
    let format = match a.format {
        Some(f) => f,
        None if a.output.extension().is_some_and(|e| e == "parquet") => PredictFormat::Parquet,
        None => PredictFormat::Csv,
    };
    if let Some(dir) = a.output.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!(
                "-o {}: no such folder {}",
                a.output.display(),
                dir.display()
            );
        }
    }
    if a.top == Some(0) {
        bail!("--top must be at least 1");
    }
    let (model, _) = Model::load(&a.model)?;
    let rank_class = class_index(&model, a.class.as_deref(), "--class")?;
    let mut aux: Vec<String> = a.keep.clone();
    if let Some(u) = &a.unlabelled {
        if !aux.contains(u) {
            aux.push(u.clone());
        }
    }
    let emb_args = TableArgs {
        features: a.features.clone(),
        id: a.id.clone(),
        exclude: Vec::new(),
        with_embeddings: a.with_embeddings.clone(),
        embeddings_id: a.embeddings_id.clone(),
    };
    let emb = load_embeddings(&emb_args)?;
    let spec = ColumnSpec {
        id: a.id.clone(),
        label: None,
        exclude: Vec::new(),
        aux,
        features: Some(
            model
                .features
                .iter()
                .filter(|f| emb.as_ref().is_none_or(|e| !e.names.contains(f)))
                .cloned()
                .collect(),
        ),
    };
    let t0 = Instant::now();
    let mut table = table::load(&a.features, &spec)?;
    join_embeddings_table(&emb_args, &mut table, emb)?;
    if table.names != model.features {
        bail!(
            "the model reads {} features; the table{} gives {} ({})",
            model.features.len(),
            if a.with_embeddings.is_some() {
                " with the embeddings"
            } else {
                ""
            },
            table.names.len(),
            "train and predict with the same --with-embeddings columns"
        );
    }
    let load_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let probs = model.predict_proba(&table, threads);
    let predict_s = t1.elapsed().as_secs_f64();
    let k = model.k();
    let n = table.rows();
    let pred = metrics::argmax(&probs, k);
    let mut rows: Vec<usize> = match &a.unlabelled {
        Some(u) => {
            let col = table
                .aux(u)
                .ok_or_else(|| eyre::eyre!("--unlabelled {u}: no such column"))?;
            (0..n)
                .filter(|&i| col.text[i].as_deref().is_none_or(|t| t.trim().is_empty()))
                .collect()
        }
        None => (0..n).collect(),
    };
    if let Some(top) = a.top {
        rows.sort_by(|&x, &y| {
            probs[y * k + rank_class]
                .total_cmp(&probs[x * k + rank_class])
                .then(x.cmp(&y))
        });
        rows.truncate(top);
    }
    let explain_class = |i: usize| {
        if a.top.is_some() || a.class.is_some() {
            rank_class
        } else {
            pred[i] as usize
        }
    };
    let top_features: Vec<String> = rows
        .iter()
        .map(|&i| explain(&model, &table, i, explain_class(i), a.explain))
        .collect();
    let mut names: Vec<String> = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    if a.top.is_some() {
        names.push("rank".into());
        cols.push(Arc::new(UInt32Array::from_iter_values(
            (1..=rows.len()).map(|r| r as u32),
        )));
    }
    names.push(a.id.trim().to_string());
    cols.push(Arc::new(StringArray::from_iter_values(
        rows.iter().map(|&i| table.ids[i].as_str()),
    )));
    names.push("prediction".into());
    cols.push(Arc::new(StringArray::from_iter_values(
        rows.iter()
            .map(|&i| model.classes[pred[i] as usize].as_str()),
    )));
    names.push("score".into());
    cols.push(Arc::new(Float64Array::from_iter_values(
        rows.iter().map(|&i| probs[i * k + pred[i] as usize]),
    )));
    for (c, class) in model.classes.iter().enumerate() {
        names.push(format!("p_{class}"));
        cols.push(Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|&i| probs[i * k + c]),
        )));
    }
    names.push("top_features".into());
    cols.push(Arc::new(StringArray::from_iter_values(
        top_features.iter().map(String::as_str),
    )));
    for k in &a.keep {
        let Some(col) = table.aux(k) else {
            bail!("--keep {k}: no such column");
        };
        names.push(k.trim().to_string());
        cols.push(Arc::new(StringArray::from(
            rows.iter()
                .map(|&i| col.text[i].clone())
                .collect::<Vec<_>>(),
        )));
    }
    let batch = RecordBatch::try_from_iter(names.iter().cloned().zip(cols))
        .wrap_err("building the prediction table")?;
    match format {
        PredictFormat::Parquet => ledgerflow_lake::writer::write_parquet(
            &a.output,
            &[batch],
            &ledgerflow_lake::WriteOptions::default(),
        )?,
        PredictFormat::Csv => {
            let buf = ledgerflow_ml::output::csv_bytes(&batch)?;
            ledgerflow_lake::writer::write_bytes_atomic(&a.output, &buf)?;
        }
    }
    let per_row_us = predict_s / n.max(1) as f64 * 1e6;
    eprintln!(
        "scored {n} rows in {predict_s:.3} s ({per_row_us:.2} µs per row, {threads} threads; \
         load {load_s:.2} s); wrote {} rows to {}",
        rows.len(),
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn split_from(a: &EvaluateArgs) -> eyre::Result<Split> {
    match a.split {
        SplitKind::Time => {
            let col = a
                .time_col
                .clone()
                .ok_or_else(|| eyre!("--split time needs --time-col COL"))?;
            let c = a
                .cutoff
                .as_deref()
                .ok_or_else(|| eyre!("--split time needs --cutoff T"))?;
            let cutoff = split::parse_time(c)
                .ok_or_else(|| eyre!("--cutoff {c:?}: expected a number or a date YYYY-MM-DD"))?;
            Ok(Split::Time { col, cutoff })
        }
        SplitKind::Group => {
            let col = a
                .group_col
                .clone()
                .ok_or_else(|| eyre!("--split group needs --group-col COL"))?;
            if !(a.test_fraction > 0.0 && a.test_fraction < 1.0) {
                bail!("--test-fraction must be between 0 and 1");
            }
            Ok(Split::Group {
                col,
                test_fraction: a.test_fraction,
                seed: a.split_seed.unwrap_or(a.params.seed),
            })
        }
    }
}

fn permutation_importance(
    model: &Model,
    test: &FeatureTable,
    y: &[u32],
    repeats: usize,
    seed: u64,
    threads: usize,
) -> Vec<(String, f64, f64)> {
    let k = model.k();
    let accuracy = |t: &FeatureTable| {
        let p = metrics::argmax(&model.predict_proba(t, threads), k);
        p.iter().zip(y).filter(|(a, b)| a == b).count() as f64 / y.len().max(1) as f64
    };
    let base = accuracy(test);
    let mut out = Vec::new();
    for f in 0..test.names.len() {
        let mut drops = Vec::with_capacity(repeats);
        for r in 0..repeats {
            let mut t = test.clone();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream((f * repeats + r) as u64);
            t.columns[f].shuffle(&mut rng);
            drops.push(base - accuracy(&t));
        }
        let mean = drops.iter().sum::<f64>() / repeats as f64;
        let sd = (drops.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / repeats as f64).sqrt();
        out.push((test.names[f].clone(), mean, sd));
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

fn print_report(r: &Report) {
    println!(
        "{:<24} {:>9} {:>9} {:>9} {:>8} {:>9} {:>8} {:>8}",
        "class", "precision", "recall", "f1", "support", "predicted", "roc_auc", "pr_auc"
    );
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.4}"));
    for c in &r.classes {
        println!(
            "{:<24} {:>9.4} {:>9.4} {:>9.4} {:>8} {:>9} {:>8} {:>8}",
            c.class,
            c.precision,
            c.recall,
            c.f1,
            c.support,
            c.predicted,
            opt(c.roc_auc),
            opt(c.pr_auc)
        );
    }
    println!(
        "accuracy {:.4}  macro F1 {:.4}  positive class {:?}: ROC-AUC {}  PR-AUC {}  Brier \
         {:.4}  log loss {:.4}  ECE {:.4}",
        r.accuracy,
        r.macro_f1,
        r.positive,
        opt(r.roc_auc),
        opt(r.pr_auc),
        r.brier,
        r.log_loss,
        r.ece
    );
    println!("calibration (score of {:?}):", r.positive);
    for b in &r.calibration {
        println!(
            "  [{:.1}, {:.1})  {:>7} rows  mean score {:.3}  observed {:.3}",
            b.lo, b.hi, b.rows, b.mean_score, b.observed
        );
    }
}

pub fn evaluate(a: EvaluateArgs) -> eyre::Result<ExitCode> {
    let how = split_from(&a)?;
    let params = params_from(&a.params)?;
    let threads = threads_or_cores(a.threads);
    if let Some(d) = &a.output {
        if a.model.is_some() {
            bail!("-o saves a model trained here; with --model nothing is trained");
        }
        check_output_dir(d)?;
    }
    if let Some(d) = &a.plot_dir {
        std::fs::create_dir_all(d).wrap_err_with(|| format!("--plot-dir {}", d.display()))?;
        crate::plot::check_path(&d.join(format!("roc.{}", a.plot_format)))?;
    }
    let existing = match &a.model {
        Some(m) => Some(Model::load(m)?.0),
        None => None,
    };
    let aux_col = match &how {
        Split::Time { col, .. } | Split::Group { col, .. } => col.clone(),
    };
    let emb = load_embeddings(&a.table)?;
    let spec = ColumnSpec {
        id: a.table.id.clone(),
        label: Some(a.label.clone()),
        exclude: a.table.exclude.clone(),
        aux: vec![aux_col],
        // a model trained with embeddings: its other features come from the table
        features: existing.as_ref().map(|m| {
            m.features
                .iter()
                .filter(|f| emb.as_ref().is_none_or(|e| !e.names.contains(f)))
                .cloned()
                .collect()
        }),
    };
    let t0 = Instant::now();
    let mut table = table::load(&a.table.features, &spec)?;
    let alone = emb.is_some().then(|| table.clone());
    let joined = join_embeddings_table(&a.table, &mut table, emb)?;
    let load_s = t0.elapsed().as_secs_f64();
    let (keep, _, _) = labelled(&table, &a.label)?;
    let sides = split::split(&table, &keep, &how)?;
    let t1 = Instant::now();
    let (model, saved) = match existing {
        Some(m) => (m, None),
        None => {
            let tr = manifest::train_recorded(
                &table,
                Some(&sides.train),
                &a.table.id,
                &a.label,
                &a.table.exclude,
                Some(&how),
                &params,
                threads,
            )?;
            let mut man = tr.manifest;
            man.joined.extend(joined.iter().cloned());
            (tr.model, Some((tr.bytes, man)))
        }
    };
    let train_s = t1.elapsed().as_secs_f64();
    // Test rows whose class the model does not know cannot be scored against it.
    let mut test_rows = Vec::new();
    let mut y = Vec::new();
    let mut unknown = 0usize;
    for &i in &sides.test {
        let l = table.labels[i].as_deref().unwrap_or_default();
        match model.classes.iter().position(|c| c == l) {
            Some(c) => {
                test_rows.push(i);
                y.push(c as u32);
            }
            None => unknown += 1,
        }
    }
    if test_rows.is_empty() {
        bail!("no test row carries a class the model knows");
    }
    let test = table.select(&test_rows);
    let t2 = Instant::now();
    let probs = model.predict_proba(&test, threads);
    let predict_s = t2.elapsed().as_secs_f64();
    let positive = class_index(&model, a.positive.as_deref(), "--positive")?;
    let report = metrics::evaluate(&y, &probs, &model.classes, positive);
    // with embeddings: the features alone on the same split, for comparison
    let features_alone = match (&alone, a.model.is_none()) {
        (Some(base), true) => {
            let m = manifest::train_recorded(
                base,
                Some(&sides.train),
                &a.table.id,
                &a.label,
                &a.table.exclude,
                Some(&how),
                &params,
                threads,
            )?
            .model;
            if m.classes != model.classes {
                bail!("the features alone give other classes than with embeddings");
            }
            let p = m.predict_proba(&base.select(&test_rows), threads);
            Some(metrics::evaluate(&y, &p, &m.classes, positive))
        }
        _ => None,
    };
    let perm = if a.permutation > 0 {
        permutation_importance(&model, &test, &y, a.permutation, params.seed, threads)
    } else {
        Vec::new()
    };
    if let Some(d) = &a.plot_dir {
        let ext = &a.plot_format;
        let pos = &report.positive;
        crate::plot::curve(
            &d.join(format!("roc.{ext}")),
            &format!(
                "ROC of class {pos} (AUC {:.4})",
                report.roc_auc.unwrap_or(f64::NAN)
            ),
            ("false positive rate", "true positive rate"),
            &report.roc,
            true,
            false,
        )?;
        crate::plot::curve(
            &d.join(format!("pr.{ext}")),
            &format!(
                "precision-recall of class {pos} (AP {:.4})",
                report.pr_auc.unwrap_or(f64::NAN)
            ),
            ("recall", "precision"),
            &report.pr,
            false,
            false,
        )?;
        let cal: Vec<(f64, f64)> = report
            .calibration
            .iter()
            .map(|b| (b.mean_score, b.observed))
            .collect();
        crate::plot::curve(
            &d.join(format!("calibration.{ext}")),
            &format!("calibration of class {pos} (ECE {:.4})", report.ece),
            ("mean predicted probability", "observed frequency"),
            &cal,
            true,
            true,
        )?;
    }
    let model_sha = match &saved {
        Some((bytes, _)) => ledgerflow_ml::model::sha256_hex(bytes),
        None => model.sha256(),
    };
    if let (Some(d), Some((bytes, man))) = (&a.output, &saved) {
        manifest::write_model_dir(d, bytes, man)?;
    }
    match a.format {
        ReportFormat::Json => {
            let v = serde_json::json!({
                "split": how, "train_rows": sides.train.len(), "test_rows": test_rows.len(),
                "dropped_rows": sides.dropped, "unknown_class_rows": unknown,
                "model_sha256": model_sha, "algo": model.params.algo.to_string(),
                "report": report,
                "features_alone": features_alone,
                "embeddings": joined,
                "permutation_importance": perm.iter().map(|(f, m, s)| serde_json::json!({"feature": f, "mean": m, "std": s})).collect::<Vec<_>>(),
                "seconds": {"load": load_s, "train": train_s, "predict": predict_s},
                "threads": threads,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        ReportFormat::Text => {
            println!(
                "split {}: {} training rows, {} test rows{}{}",
                match &how {
                    Split::Time { col, cutoff } => format!("by time ({col} < {cutoff})"),
                    Split::Group {
                        col, test_fraction, ..
                    } => format!("by group ({col}, {test_fraction} of the groups test)"),
                },
                sides.train.len(),
                test_rows.len(),
                if sides.dropped > 0 {
                    format!(", {} rows without a split value left out", sides.dropped)
                } else {
                    String::new()
                },
                if unknown > 0 {
                    format!(", {unknown} test rows of classes the model never saw left out")
                } else {
                    String::new()
                }
            );
            println!(
                "{} model {model_sha}: train {train_s:.2} s, predict {predict_s:.3} s",
                model.params.algo
            );
            print_report(&report);
            if let Some(r) = &features_alone {
                let line = |name: &str, r: &metrics::Report| {
                    println!(
                        "  {name:<22} accuracy {:.4}  macro F1 {:.4}  ROC-AUC {}  PR-AUC {}",
                        r.accuracy,
                        r.macro_f1,
                        r.roc_auc.map_or("-".into(), |x| format!("{x:.4}")),
                        r.pr_auc.map_or("-".into(), |x| format!("{x:.4}"))
                    )
                };
                println!("features alone against features + embeddings (same split):");
                line("features alone", r);
                line("features + embeddings", &report);
            }
            if !perm.is_empty() {
                println!(
                    "permutation importance (accuracy drop, {} shuffles):",
                    a.permutation
                );
                for (f, m, s) in perm.iter().take(15) {
                    println!("  {m:+.4} ± {s:.4}  {f}");
                }
            }
            if let Some(d) = &a.output {
                println!("model saved in {}", d.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn inspect(a: InspectArgs) -> eyre::Result<ExitCode> {
    let (model, bytes) = Model::load(&a.model)?;
    let sha = ledgerflow_ml::model::sha256_hex(&bytes);
    let manifest = if a.model.is_dir() {
        let p = a.model.join(manifest::MANIFEST_FILE);
        p.exists().then(|| Manifest::load(&a.model)).transpose()?
    } else {
        None
    };
    let depth = model.trees.iter().map(|t| t.depth()).max().unwrap_or(0);
    match a.format {
        ReportFormat::Json => {
            let v = serde_json::json!({
                "sha256": sha, "bytes": bytes.len(), "params": model.params,
                "classes": model.classes, "class_rows": model.class_rows,
                "features": model.features, "trees": model.trees.len(), "nodes": model.nodes(),
                "max_depth": depth,
                "importance": top_importances(&model, model.features.len()),
                "manifest": manifest,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        ReportFormat::Text => {
            println!("model     {}", a.model.display());
            println!("sha256    {sha}");
            println!("bytes     {}", bytes.len());
            println!(
                "algo      {} ({} trees, {} nodes, depth up to {depth})",
                model.params.algo,
                model.trees.len(),
                model.nodes()
            );
            println!(
                "params    {}",
                serde_json::to_string(&model.params).unwrap_or_default()
            );
            let classes: Vec<String> = model
                .classes
                .iter()
                .zip(&model.class_rows)
                .map(|(c, n)| format!("{c} ({n})"))
                .collect();
            println!("classes   {}", classes.join(", "));
            println!("features  {}", model.features.len());
            println!("importance (top {}):", a.top);
            for (f, v) in top_importances(&model, a.top) {
                println!("  {v:.4}  {f}");
            }
            match &manifest {
                Some(m) => {
                    println!("manifest:");
                    println!(
                        "  input     {} ({}, {} bytes, SHA-256 {})",
                        m.input.path.display(),
                        m.input.format,
                        m.input.bytes,
                        m.input.sha256
                    );
                    println!(
                        "  columns   id {:?}, label {:?}, excluded {:?}",
                        m.id_column, m.label_column, m.excluded
                    );
                    println!(
                        "  rows      {} trained on, {} unlabelled",
                        m.training_rows, m.unlabelled_rows
                    );
                    if let Some(s) = &m.split {
                        println!(
                            "  split     training side of {}",
                            serde_json::to_string(s).unwrap_or_default()
                        );
                    }
                    if let Some(l) = &m.lake {
                        println!(
                            "  lake      {} chain {} ({} chunks, Merkle root {})",
                            l.lake.display(),
                            l.chain,
                            l.chunks,
                            l.merkle_root
                        );
                    }
                    println!(
                        "  code      ledgerflow {} {}",
                        m.code.ledgerflow,
                        m.code.commit.as_deref().unwrap_or("(commit unknown)")
                    );
                    if m.model_sha256 != sha {
                        println!(
                            "  WARNING   the manifest records SHA-256 {}; the file changed",
                            m.model_sha256
                        );
                    }
                }
                None => println!("manifest: none"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn verify(a: VerifyArgs) -> eyre::Result<ExitCode> {
    let threads = threads_or_cores(a.threads);
    if !a.model.is_dir() {
        bail!("{}: not a model folder", a.model.display());
    }
    let moved = a.lake.clone();
    let root = move |l: &manifest::LakeInput| {
        let mut l = l.clone();
        if let Some(m) = &moved {
            l.lake = m.clone();
        }
        ledgerflow_ml::features::lake::lake_root(&l)
    };
    let v = manifest::verify(&a.model, threads, Some(&root))?;
    match a.format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        ReportFormat::Text => {
            for c in &v.checks {
                println!(
                    "{} {:<17} {}",
                    if c.ok { "ok  " } else { "FAIL" },
                    c.what,
                    c.detail
                );
            }
            println!(
                "{}",
                if v.ok {
                    "verified: the model is what its manifest says"
                } else {
                    "NOT verified"
                }
            );
        }
    }
    Ok(if v.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn bench_predict(a: BenchPredictArgs) -> eyre::Result<ExitCode> {
    let threads = threads_or_cores(a.threads);
    let (model, _) = Model::load(&a.model)?;
    let spec = ColumnSpec {
        id: a.id.clone(),
        label: None,
        exclude: Vec::new(),
        aux: Vec::new(),
        features: Some(model.features.clone()),
    };
    let table = table::load(&a.features, &spec)?;
    let n = table.rows();
    let mut best = f64::INFINITY;
    let mut probs = Vec::new();
    for _ in 0..a.rounds.max(1) {
        let t = Instant::now();
        probs = model.predict_proba(&table, threads);
        best = best.min(t.elapsed().as_secs_f64());
    }
    // One row at a time, as a service answering single requests would.
    let single = a.single.min(n).max(1);
    let mut out = vec![0.0; model.k()];
    let mut check = 0.0;
    let t = Instant::now();
    for i in 0..single {
        let cols = &table.columns;
        model.proba_by(|f| cols[f][i], &mut out);
        check += out[0];
    }
    let single_s = t.elapsed().as_secs_f64();
    let batch_check: f64 = (0..single).map(|i| probs[i * model.k()]).sum();
    if (check - batch_check).abs() > 1e-9 * single as f64 {
        bail!("single-row and batch predictions differ ({check} vs {batch_check})");
    }
    let v = serde_json::json!({
        "rows": n, "threads": threads, "trees": model.trees.len(), "nodes": model.nodes(),
        "batch_seconds": best, "batch_us_per_row": best / n as f64 * 1e6,
        "single_rows": single, "single_us_per_row": single_s / single as f64 * 1e6,
    });
    println!("{v}");
    Ok(ExitCode::SUCCESS)
}

/// The --with-embeddings table, when given.
fn load_embeddings(a: &TableArgs) -> eyre::Result<Option<FeatureTable>> {
    let Some(p) = &a.with_embeddings else {
        return Ok(None);
    };
    let spec = ColumnSpec {
        id: a.embeddings_id.clone(),
        label: None,
        exclude: Vec::new(),
        aux: Vec::new(),
        features: None,
    };
    Ok(Some(table::load(p, &spec).wrap_err_with(|| {
        format!("--with-embeddings {}", p.display())
    })?))
}

/// Joins the --with-embeddings table (if any) to `table`; what was joined, for the
/// manifest.
fn join_embeddings(a: &TableArgs, table: &mut FeatureTable) -> eyre::Result<Vec<TableSource>> {
    let emb = load_embeddings(a)?;
    join_embeddings_table(a, table, emb)
}

fn join_embeddings_table(
    a: &TableArgs,
    table: &mut FeatureTable,
    emb: Option<FeatureTable>,
) -> eyre::Result<Vec<TableSource>> {
    let Some(e) = emb else {
        return Ok(Vec::new());
    };
    let matched = table.append_by_id(&e)?;
    if matched == 0 {
        bail!(
            "--with-embeddings {}: none of its ids ({:?} column) is an id of {}",
            e.source.path.display(),
            a.embeddings_id,
            a.features.display()
        );
    }
    tracing::info!(
        matched,
        rows = table.rows(),
        columns = e.names.len(),
        "embeddings joined"
    );
    let mut src = e.source.clone();
    if let Ok(abs) = std::fs::canonicalize(&src.path) {
        src.path = abs;
    }
    Ok(vec![src])
}
