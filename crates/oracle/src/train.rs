//! The `train` job's work: features of a registered dataset, the lake's public labels,
//! a seeded tree model, written as a model folder named by its hash.
//!
//! What is trained, exactly (so anyone with the same chain data gets the same bytes):
//! - **rows**: one per address of the dataset's chain, features of one window that spans
//!   the chain from its first block to the dataset's last block (`ledgerflow features
//!   --level address`, reading no block above `to_block`);
//! - **labels**: the lake's `address_labels` table (`ledgerflow labels import`), each
//!   address's majority category; the features computed from labels (neighbour label
//!   shares) are left out, so no feature is made of the answer; unlabelled addresses are
//!   not trained on;
//! - **parameters**: the defaults of `ledgerflow model train --algo A` with the request's
//!   trees and seed.
//!
//! The folder `<models>/<model sha-256>/` holds `model.lfm`, `manifest.json` and the
//! feature table `features.parquet` the manifest names, so `score` requests (and `model
//! verify`) find everything in one place.

use std::path::{Path, PathBuf};

use ledgerflow_lake::Lake;
use ledgerflow_ml::features::lake::{self as flake, Request};
use ledgerflow_ml::features::Level;
use ledgerflow_ml::manifest;
use ledgerflow_ml::params::{Algo, Params};
use ledgerflow_ml::table::{self, ColumnSpec};

/// The feature table's file name inside a trained model's folder.
pub const FEATURES_FILE: &str = "features.parquet";

/// What to train.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainSpec {
    pub chain: String,
    pub from_block: u64,
    pub to_block: u64,
    pub algo: Algo,
    pub trees: u32,
    pub seed: u64,
}

/// A trained model in its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainedModel {
    pub dir: PathBuf,
    /// SHA-256 of `model.lfm` (hex, no `0x`).
    pub model_sha256: String,
    /// SHA-256 of `manifest.json` (hex, no `0x`).
    pub manifest_sha256: String,
    /// The Merkle root of the lake chunks the features read (hex).
    pub features_root: String,
    pub rows: u64,
    pub training_rows: u64,
    pub classes: Vec<String>,
}

/// Trains as the module documents, in `models` (a staging folder inside it, renamed to
/// the model's hash when done; a folder of the same model already there is kept).
pub fn train(
    lake: &Path,
    models: &Path,
    spec: &TrainSpec,
    threads: usize,
) -> Result<TrainedModel, String> {
    let l = Lake::new(lake);
    let blocks = flake::block_times(&l, &spec.chain).map_err(|e| e.to_string())?;
    let Some(&(first, _)) = blocks.first() else {
        return Err(format!(
            "the lake {} has no blocks of {}",
            lake.display(),
            spec.chain
        ));
    };
    if spec.from_block as i64 > first {
        return Err(format!(
            "a train dataset starts at the chain's first block in the lake ({first}); this one \
             starts at {} (features need every earlier transaction: register blocks {first}..={})",
            spec.from_block, spec.to_block
        ));
    }
    let upto: Vec<&(i64, i64)> = blocks
        .iter()
        .filter(|b| b.0 <= spec.to_block as i64)
        .collect();
    let (Some(lo), Some(hi)) = (
        upto.iter().map(|b| b.1).min(),
        upto.iter().map(|b| b.1).max(),
    ) else {
        return Err(format!(
            "no block of {} up to {}",
            spec.chain, spec.to_block
        ));
    };
    match flake::read_labels(&l, &spec.chain) {
        Ok(Some(m)) if !m.is_empty() => {}
        Ok(_) => {
            return Err(format!(
                "the lake {} has no {} for {}: import public labels first (`ledgerflow labels \
                 import`)",
                lake.display(),
                flake::LABELS_TABLE,
                spec.chain
            ))
        }
        Err(e) => return Err(e.to_string()),
    }
    let window = hi - lo + 1;
    let req = Request {
        lake: lake.to_path_buf(),
        chain: spec.chain.clone(),
        level: Level::Address,
        window,
        until: Some(hi),
        until_block: Some(spec.to_block as i64),
        step: window,
        windows: 1,
        labels: true,
        label_features: false,
        threads,
    };
    let mut x = flake::extract(&req).map_err(|e| e.to_string())?;
    let features_root = x.meta.lake.merkle_root.clone();
    let id = flake::id_column(Level::Address).to_string();

    std::fs::create_dir_all(models).map_err(|e| format!("{}: {e}", models.display()))?;
    let stage = models.join(format!(".train-{}-{}", std::process::id(), spec_tag(spec)));
    if stage.exists() {
        std::fs::remove_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    }
    std::fs::create_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    let result = (|| {
        let fpath = stage.join(FEATURES_FILE);
        let rows = flake::write_parquet(&mut x, &fpath).map_err(|e| e.to_string())?;
        let cspec = ColumnSpec {
            id: id.clone(),
            label: Some("label".into()),
            exclude: Vec::new(),
            aux: Vec::new(),
            features: None,
        };
        let t = table::load(&fpath, &cspec).map_err(|e| e.to_string())?;
        let mut params = Params::new(spec.algo);
        params.trees = spec.trees;
        params.seed = spec.seed;
        params.validate().map_err(|e| e.to_string())?;
        let mut tr = manifest::train_recorded(&t, None, &id, "label", &[], None, &params, threads)
            .map_err(|e| e.to_string())?;
        let sha = tr.manifest.model_sha256.clone();
        let dir = models.join(&sha);
        // the manifest names the feature table where it will stay
        tr.manifest.input.path = dir.join(FEATURES_FILE);
        manifest::write_model_dir(&stage, &tr.bytes, &tr.manifest).map_err(|e| e.to_string())?;
        let mbytes = tr.manifest.to_json();
        let manifest_sha256 = ledgerflow_ml::model::sha256_hex(mbytes.as_bytes());
        if dir.join(ledgerflow_ml::model::MODEL_FILE).is_file() {
            // trained before (a repeated request, or a restart): the same bytes
            let old = std::fs::read(dir.join(ledgerflow_ml::model::MODEL_FILE))
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            if old != tr.bytes {
                return Err(format!(
                    "{} holds a model whose bytes differ from its name",
                    dir.display()
                ));
            }
        } else {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::rename(&stage, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let (l, _) = manifest::label_counts(&t);
        Ok(TrainedModel {
            dir: dir.clone(),
            model_sha256: sha,
            manifest_sha256,
            features_root: features_root.clone(),
            rows,
            training_rows: l,
            classes: tr.model.classes.clone(),
        })
    })();
    if stage.exists() {
        let _ = std::fs::remove_dir_all(&stage);
    }
    result
}

fn spec_tag(spec: &TrainSpec) -> String {
    format!(
        "{}-{}-{}-{}-{}-{}",
        spec.chain, spec.from_block, spec.to_block, spec.algo, spec.trees, spec.seed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lake_without_blocks_or_labels_is_refused_with_the_reason() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let spec = TrainSpec {
            chain: "nochain".into(),
            from_block: 0,
            to_block: 9,
            algo: Algo::Forest,
            trees: 5,
            seed: 1,
        };
        let e = train(d.path(), &d.path().join("models"), &spec, 1).unwrap_err();
        assert!(e.contains("no blocks of nochain"), "{e}");
    }
}
