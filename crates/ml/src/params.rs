//! Training parameters: one struct for both algorithms, stored in the model and in its
//! manifest, so a run can be repeated from what it recorded.

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};

/// The learning algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    /// A random forest: bootstrapped CART trees (Gini), features sampled per split, the
    /// class probabilities of the trees averaged.
    Forest,
    /// Gradient-boosted trees on histograms: logistic loss for two classes, softmax (one
    /// tree per class and round) for more; second-order leaf weights with L2 shrinkage.
    Gbt,
}

impl std::str::FromStr for Algo {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "forest" | "rf" | "random-forest" => Ok(Algo::Forest),
            "gbt" | "gbm" | "boost" | "xgboost" => Ok(Algo::Gbt),
            _ => Err(format!("unknown algorithm {s:?} (forest, gbt)")),
        }
    }
}

impl std::fmt::Display for Algo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Algo::Forest => "forest",
            Algo::Gbt => "gbt",
        })
    }
}

/// How classes are weighted in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Every row weighs 1.
    None,
    /// Each class weighs `rows / (classes × rows of the class)` (scikit-learn's
    /// "balanced").
    Balanced,
    /// Given weights per class name; classes not named weigh 1.
    Custom(Vec<(String, f64)>),
}

impl std::str::FromStr for ClassWeight {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "none" | "" => Ok(ClassWeight::None),
            "balanced" => Ok(ClassWeight::Balanced),
            _ => {
                let mut out = Vec::new();
                for part in s.split(',') {
                    let (c, w) = part.split_once('=').ok_or_else(|| {
                        format!(
                            "--class-weight {s:?}: expected none, balanced or CLASS=WEIGHT,... \
                             (e.g. 1=10,0=1)"
                        )
                    })?;
                    let w: f64 = w
                        .trim()
                        .parse()
                        .map_err(|_| format!("--class-weight: {w:?} is not a number"))?;
                    if !(w > 0.0 && w.is_finite()) {
                        return Err(format!("--class-weight: weight {w} must be positive"));
                    }
                    out.push((c.trim().to_string(), w));
                }
                Ok(ClassWeight::Custom(out))
            }
        }
    }
}

/// Training parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub algo: Algo,
    /// Trees (forest) or boosting rounds (gbt).
    pub trees: u32,
    /// Deepest split level; `None`: unlimited (forest default), gbt default 6.
    pub max_depth: Option<u32>,
    /// Fewest training rows in a leaf.
    pub min_leaf: u32,
    /// Features tried per split (forest): `sqrt`, `log2`, `all`, a count or a fraction.
    pub max_features: String,
    /// Bootstrap samples per tree (forest).
    pub bootstrap: bool,
    /// Shrinkage per round (gbt).
    pub learning_rate: f64,
    /// L2 penalty on leaf weights (gbt).
    pub lambda: f64,
    /// Least hessian sum in a child (gbt).
    pub min_child_weight: f64,
    /// Share of rows drawn per round (gbt; 1 = all).
    pub subsample: f64,
    /// Share of features drawn per tree (gbt; 1 = all).
    pub colsample: f64,
    /// Bins per feature (2..=255).
    pub max_bins: u32,
    pub class_weight: ClassWeight,
    pub seed: u64,
}

impl Params {
    /// The defaults of `algo`.
    pub fn new(algo: Algo) -> Params {
        Params {
            algo,
            trees: 100,
            max_depth: match algo {
                Algo::Forest => None,
                Algo::Gbt => Some(6),
            },
            min_leaf: 1,
            max_features: match algo {
                Algo::Forest => "sqrt".into(),
                Algo::Gbt => "all".into(),
            },
            bootstrap: algo == Algo::Forest,
            learning_rate: 0.1,
            lambda: 1.0,
            min_child_weight: 1.0,
            subsample: 1.0,
            colsample: 1.0,
            max_bins: 255,
            class_weight: ClassWeight::None,
            seed: 0,
        }
    }

    /// Checks ranges; the message names the flag.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(MlError::Invalid(m));
        if self.trees == 0 {
            return bad("--trees must be at least 1".into());
        }
        if self.min_leaf == 0 {
            return bad("--min-leaf must be at least 1".into());
        }
        if self.max_depth == Some(0) {
            return bad("--max-depth must be at least 1".into());
        }
        if !(2..=255).contains(&self.max_bins) {
            return bad("--max-bins must be between 2 and 255".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad("--learning-rate must be in (0, 1]".into());
        }
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            return bad("--lambda must be a non-negative number".into());
        }
        if !(self.min_child_weight >= 0.0 && self.min_child_weight.is_finite()) {
            return bad("--min-child-weight must be a non-negative number".into());
        }
        for (v, f) in [
            (self.subsample, "--subsample"),
            (self.colsample, "--colsample"),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return bad(format!("{f} must be in (0, 1]"));
            }
        }
        self.features_per_split(1)?;
        Ok(())
    }

    /// Features tried per split out of `p`.
    pub fn features_per_split(&self, p: usize) -> Result<usize> {
        let p1 = p.max(1);
        let n = match self.max_features.as_str() {
            "sqrt" => (p1 as f64).sqrt() as usize,
            "log2" => (p1 as f64).log2() as usize,
            "all" | "none" => p1,
            s => {
                if let Ok(n) = s.parse::<usize>() {
                    n
                } else if let Ok(f) = s.parse::<f64>() {
                    if !(f > 0.0 && f <= 1.0) {
                        return Err(MlError::Invalid(format!(
                            "--max-features {s}: a fraction must be in (0, 1]"
                        )));
                    }
                    (f * p1 as f64) as usize
                } else {
                    return Err(MlError::Invalid(format!(
                        "--max-features {s:?}: expected sqrt, log2, all, a count or a fraction"
                    )));
                }
            }
        };
        Ok(n.clamp(1, p1))
    }
}
