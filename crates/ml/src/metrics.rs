//! Evaluation: precision, recall and F1 per class, accuracy, ROC-AUC and PR-AUC (average
//! precision, scikit-learn's definition), Brier score, log loss and a reliability table
//! (calibration), plus the ROC and PR curves of one class.

use serde::Serialize;

/// The scores of one class.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassScores {
    pub class: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Rows of this class.
    pub support: u64,
    /// Rows predicted as this class.
    pub predicted: u64,
    /// One-vs-rest ROC-AUC (`None` when the class is absent or is every row).
    pub roc_auc: Option<f64>,
    /// One-vs-rest average precision.
    pub pr_auc: Option<f64>,
}

/// One bin of the reliability table: rows whose score for the positive class fell in
/// `[lo, hi)`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CalibrationBin {
    pub lo: f64,
    pub hi: f64,
    pub rows: u64,
    pub mean_score: f64,
    pub observed: f64,
}

/// An evaluation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub rows: u64,
    /// The class the curves, ROC-AUC, PR-AUC and calibration refer to.
    pub positive: String,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub classes: Vec<ClassScores>,
    /// ROC-AUC of the positive class.
    pub roc_auc: Option<f64>,
    /// Average precision of the positive class.
    pub pr_auc: Option<f64>,
    /// Mean squared error of the positive-class score.
    pub brier: f64,
    /// Mean negative log-likelihood of the true class (probabilities clipped to 1e-15).
    pub log_loss: f64,
    /// Expected calibration error over the ten bins.
    pub ece: f64,
    pub calibration: Vec<CalibrationBin>,
    /// ROC curve of the positive class: (false positive rate, true positive rate).
    #[serde(skip)]
    pub roc: Vec<(f64, f64)>,
    /// PR curve of the positive class: (recall, precision).
    #[serde(skip)]
    pub pr: Vec<(f64, f64)>,
}

/// The predicted class of each row: the most probable one (the lower index on ties).
pub fn argmax(probs: &[f64], k: usize) -> Vec<u32> {
    probs
        .chunks(k)
        .map(|p| {
            let mut best = 0;
            for c in 1..k {
                if p[c] > p[best] {
                    best = c;
                }
            }
            best as u32
        })
        .collect()
}

/// Curves and areas of scores against binary truth, thresholds at distinct scores from
/// high to low.
pub struct Curves {
    pub roc: Vec<(f64, f64)>,
    pub pr: Vec<(f64, f64)>,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
}

/// ROC and PR of `scores` for `truth` (tied scores form one threshold).
pub fn curves(scores: &[f64], truth: &[bool]) -> Curves {
    let pos = truth.iter().filter(|&&t| t).count() as f64;
    let neg = truth.len() as f64 - pos;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut roc = vec![(0.0, 0.0)];
    let mut pr = Vec::new();
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut auc = 0.0;
    let mut ap = 0.0;
    let mut last_recall = 0.0;
    let mut i = 0;
    while i < order.len() {
        let s = scores[order[i]];
        let (tp0, fp0) = (tp, fp);
        while i < order.len() && scores[order[i]].total_cmp(&s).is_eq() {
            if truth[order[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        if pos > 0.0 && neg > 0.0 {
            auc += (fp - fp0) / neg * ((tp + tp0) / 2.0) / pos;
            roc.push((fp / neg, tp / pos));
        }
        if pos > 0.0 {
            let recall = tp / pos;
            let precision = tp / (tp + fp);
            ap += (recall - last_recall) * precision;
            last_recall = recall;
            pr.push((recall, precision));
        }
    }
    Curves {
        roc,
        pr,
        roc_auc: (pos > 0.0 && neg > 0.0).then_some(auc),
        pr_auc: (pos > 0.0).then_some(ap),
    }
}

/// Evaluates probabilities (`rows × classes`, row-major) against true classes.
pub fn evaluate(y: &[u32], probs: &[f64], classes: &[String], positive: usize) -> Report {
    let k = classes.len();
    let n = y.len();
    let pred = argmax(probs, k);
    let mut per = Vec::with_capacity(k);
    for c in 0..k {
        let support = y.iter().filter(|&&t| t as usize == c).count() as u64;
        let predicted = pred.iter().filter(|&&t| t as usize == c).count() as u64;
        let tp = y
            .iter()
            .zip(&pred)
            .filter(|(&t, &p)| t as usize == c && p as usize == c)
            .count() as f64;
        let precision = if predicted > 0 {
            tp / predicted as f64
        } else {
            0.0
        };
        let recall = if support > 0 {
            tp / support as f64
        } else {
            0.0
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        let scores: Vec<f64> = (0..n).map(|i| probs[i * k + c]).collect();
        let truth: Vec<bool> = y.iter().map(|&t| t as usize == c).collect();
        let cv = curves(&scores, &truth);
        per.push(ClassScores {
            class: classes[c].clone(),
            precision,
            recall,
            f1,
            support,
            predicted,
            roc_auc: cv.roc_auc,
            pr_auc: cv.pr_auc,
        });
    }
    let accuracy = y.iter().zip(&pred).filter(|(a, b)| a == b).count() as f64 / n.max(1) as f64;
    let present: Vec<&ClassScores> = per.iter().filter(|c| c.support > 0).collect();
    let macro_f1 = present.iter().map(|c| c.f1).sum::<f64>() / present.len().max(1) as f64;
    let scores: Vec<f64> = (0..n).map(|i| probs[i * k + positive]).collect();
    let truth: Vec<bool> = y.iter().map(|&t| t as usize == positive).collect();
    let cv = curves(&scores, &truth);
    let brier = scores
        .iter()
        .zip(&truth)
        .map(|(s, &t)| (s - f64::from(u8::from(t))).powi(2))
        .sum::<f64>()
        / n.max(1) as f64;
    let log_loss = (0..n)
        .map(|i| -probs[i * k + y[i] as usize].clamp(1e-15, 1.0).ln())
        .sum::<f64>()
        / n.max(1) as f64;
    let mut calibration = Vec::new();
    let mut ece = 0.0;
    for b in 0..10 {
        let lo = b as f64 / 10.0;
        let hi = (b + 1) as f64 / 10.0;
        let idx: Vec<usize> = (0..n)
            .filter(|&i| scores[i] >= lo && (scores[i] < hi || (b == 9 && scores[i] <= hi)))
            .collect();
        if idx.is_empty() {
            continue;
        }
        let m = idx.len() as f64;
        let mean_score = idx.iter().map(|&i| scores[i]).sum::<f64>() / m;
        let observed = idx.iter().filter(|&&i| truth[i]).count() as f64 / m;
        ece += m / n as f64 * (mean_score - observed).abs();
        calibration.push(CalibrationBin {
            lo,
            hi,
            rows: idx.len() as u64,
            mean_score,
            observed,
        });
    }
    Report {
        rows: n as u64,
        positive: classes[positive].clone(),
        accuracy,
        macro_f1,
        classes: per,
        roc_auc: cv.roc_auc,
        pr_auc: cv.pr_auc,
        brier,
        log_loss,
        ece,
        calibration,
        roc: cv.roc,
        pr: cv.pr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_binary_case() {
        // scores for class 1: 0.9(1) 0.8(0) 0.7(1) 0.4(0) 0.2(1) 0.1(0)
        let s = [0.9, 0.8, 0.7, 0.4, 0.2, 0.1];
        let y = [1u32, 0, 1, 0, 1, 0];
        let probs: Vec<f64> = s.iter().flat_map(|&p| [1.0 - p, p]).collect();
        let r = evaluate(&y, &probs, &["0".into(), "1".into()], 1);
        // Predicted 1 for the first three: tp 2, fp 1, fn 1.
        let c1 = &r.classes[1];
        assert!((c1.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((c1.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // AUC: pairs (pos, neg) ordered right: 3 + 2 + 1 of 9 → 6/9.
        assert!((r.roc_auc.unwrap() - 6.0 / 9.0).abs() < 1e-12);
        // AP: recall steps 1/3 at precision 1, 2/3 at 2/3, 1 at 3/5.
        let ap = (1.0 + 2.0 / 3.0 + 3.0 / 5.0) / 3.0;
        assert!((r.pr_auc.unwrap() - ap).abs() < 1e-12);
        let brier = s
            .iter()
            .zip(&y)
            .map(|(p, &t)| (p - f64::from(t)).powi(2))
            .sum::<f64>()
            / 6.0;
        assert!((r.brier - brier).abs() < 1e-12);
        assert_eq!(r.calibration.iter().map(|b| b.rows).sum::<u64>(), 6);
    }

    #[test]
    fn ties_are_one_threshold() {
        let c = curves(&[0.5, 0.5, 0.5, 0.5], &[true, false, true, false]);
        assert_eq!(c.roc_auc, Some(0.5));
        assert_eq!(c.pr_auc, Some(0.5));
        let c = curves(&[0.3, 0.3], &[true, true]);
        assert_eq!(c.roc_auc, None);
    }
}
