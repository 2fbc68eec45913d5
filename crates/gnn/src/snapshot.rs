//! EvolveGCN's snapshot protocol for temporal link prediction (`--snapshot SECONDS`):
//! time is cut into steps of a fixed length from the first edge, the last
//! `--test-fraction` of the steps are the test (as EvolveGCN's splitter cuts steps, not
//! links); for each test step, every scorer sees every edge before the step and ranks
//! **all node pairs** for the links of the step. Unlike the link task's windows, a link of the step
//! counts even when its pair was linked before (a reciprocated rating, a repeated
//! payment), and pairs linked before stay candidates, as in EvolveGCN's evaluation (its
//! label adjacency of step `t + 1` against all non-existing edges).
//!
//! Per step: MAP is the average precision of the whole candidate list (every unordered
//! pair once; each pair's two directions would give the same value), MRR the mean over
//! the nodes with a link in the step of the mean reciprocal rank of their links in their
//! row (ranked among all other nodes, the step's other links included; ties share).
//! Both are averaged over the steps that hold links.
//!
//! Scorers: the auto-encoder (its messages over the edges observed), Adamic-Adar over
//! the same, **history**: pairs linked before first, by recency-weighted count
//! (`Σ 2^-(age in steps)` over their earlier edges), then the others by Adamic-Adar;
//! **activity**: the product of both ends' recency-weighted edge counts (preferential
//! attachment that forgets, half-life one step): who was busy lately links next; and
//! **reciprocity**: activity times `1 + c · p(u, v)`, `p` the pending return of a
//! one-way link (`2^-(age in steps)` of the latest `u → v` when `v → u` was never seen,
//! 0 otherwise): on a trust network a rating after a trade is often answered. The weight
//! `c` is chosen on the validation steps (those before the test, scored the same way)
//! from [`RECIPROCITY_WEIGHTS`] (0, activity alone, without validation steps); it needs
//! the links' directions, which the other scorers ignore.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::adj::{key, Csr};

/// One scorer's result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SnapshotScore {
    pub map: f64,
    pub mrr: f64,
}

/// The protocol's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotReport {
    /// Step length (the time column's unit).
    pub seconds: i64,
    /// Test steps evaluated (those with links).
    pub steps: usize,
    /// Target links summed over the steps (distinct pairs per step).
    pub links: usize,
    /// Of those, links whose pair was linked in an earlier step.
    pub repeated: usize,
    pub gae: SnapshotScore,
    pub adamic_adar: SnapshotScore,
    pub history: SnapshotScore,
    pub activity: SnapshotScore,
    pub reciprocity: SnapshotScore,
    /// The reciprocity weight `c` the validation steps chose.
    pub reciprocity_weight: f64,
    /// Validation steps (with links) that chose it, and their MAP at each candidate.
    pub val_steps: usize,
    pub val_map: Vec<(f64, f64)>,
}

/// The reciprocity weights tried on the validation steps (0: activity alone).
pub const RECIPROCITY_WEIGHTS: [f64; 6] = [0.0, 1.0, 10.0, 100.0, 1000.0, 10000.0];

/// Adamic-Adar weights (`1 / ln deg`, 0 for degree ≤ 1) over an undirected adjacency.
pub(crate) fn adamic_adar_weights(adj: &Csr) -> Vec<f64> {
    (0..adj.n)
        .map(|i| {
            let d = adj.neighbours(i).len() as f64;
            if d > 1.0 {
                1.0 / d.ln()
            } else {
                0.0
            }
        })
        .collect()
}

/// Fills `row` with the Adamic-Adar score of `u` with every node: each common
/// neighbour's weight added in increasing neighbour order (the order of a pairwise
/// merge, so the values equal the link task's pairwise scores).
pub(crate) fn adamic_adar_row(adj: &Csr, weight: &[f64], u: u32, row: &mut [f64]) {
    row.iter_mut().for_each(|v| *v = 0.0);
    for &w in adj.neighbours(u as usize) {
        let c = weight[w as usize];
        if c == 0.0 {
            continue;
        }
        for &v in adj.neighbours(w as usize) {
            row[v as usize] += c;
        }
    }
}

/// A step's candidate ranking: fed row by row, then summarised.
struct StepEval<'a> {
    targets: &'a FxHashMap<u32, Vec<u32>>,
    positives: Vec<f64>,
    negatives: Vec<f64>,
    rr_sum: f64,
    rr_rows: usize,
}

impl<'a> StepEval<'a> {
    fn new(targets: &'a FxHashMap<u32, Vec<u32>>) -> Self {
        StepEval {
            targets,
            positives: Vec::new(),
            negatives: Vec::new(),
            rr_sum: 0.0,
            rr_rows: 0,
        }
    }

    /// Row `u` of the scores (every node; `row[u]` ignored).
    fn row(&mut self, u: u32, row: &[f64]) {
        let mine = self.targets.get(&u);
        let is_target = |v: u32| mine.is_some_and(|m| m.binary_search(&v).is_ok());
        for (v, &s) in row.iter().enumerate().skip(u as usize + 1) {
            if is_target(v as u32) {
                self.positives.push(s);
            } else {
                self.negatives.push(s);
            }
        }
        if let Some(m) = mine {
            let mut rr = 0.0;
            for &t in m {
                let s = row[t as usize];
                let (mut above, mut ties) = (0usize, 0usize);
                for (v, &o) in row.iter().enumerate() {
                    if v == u as usize || v == t as usize {
                        continue;
                    }
                    if o > s {
                        above += 1;
                    } else if o == s {
                        ties += 1;
                    }
                }
                rr += 1.0 / (1.0 + above as f64 + ties as f64 / 2.0);
            }
            self.rr_sum += rr / m.len().max(1) as f64;
            self.rr_rows += 1;
        }
    }

    /// (average precision, mean reciprocal rank).
    fn finish(self) -> (f64, f64) {
        let ap = average_precision(&self.positives, &self.negatives);
        (ap, self.rr_sum / self.rr_rows.max(1) as f64)
    }
}

/// Average precision (ties grouped: a group of equal scores enters the list at once,
/// as scikit-learn's `average_precision_score`), counting the negatives against the
/// positives' distinct scores without sorting them.
pub(crate) fn average_precision(pos: &[f64], neg: &[f64]) -> f64 {
    if pos.is_empty() {
        return 0.0;
    }
    let mut th: Vec<f64> = pos.to_vec();
    th.sort_by(|a, b| b.total_cmp(a));
    th.dedup_by(|a, b| a.total_cmp(b).is_eq());
    // positives and negatives scoring ≥ each threshold (thresholds descending)
    let at_least = |xs: &[f64]| -> Vec<usize> {
        let mut hist = vec![0usize; th.len()];
        for x in xs {
            // first threshold (in descending order) that x reaches
            let j = th.partition_point(|t| t.total_cmp(x).is_gt());
            if j < th.len() {
                hist[j] += 1;
            }
        }
        let mut acc = 0;
        hist.iter()
            .map(|h| {
                acc += h;
                acc
            })
            .collect()
    };
    let (tp, fp) = (at_least(pos), at_least(neg));
    let total = pos.len() as f64;
    let (mut ap, mut last) = (0.0, 0.0);
    for (t, f) in tp.iter().zip(&fp) {
        let recall = *t as f64 / total;
        ap += (recall - last) * (*t as f64 / (*t + *f) as f64);
        last = recall;
    }
    ap
}

/// The steps of the edges: `(step, u, v)` per edge between two different nodes, the
/// step counted from the first edge's time.
pub(crate) fn steps_of(
    src: &[u32],
    dst: &[u32],
    time: &[i64],
    seconds: i64,
) -> Vec<(i64, u32, u32)> {
    let t0 = time.iter().copied().min().unwrap_or(0);
    let mut out: Vec<(i64, u32, u32)> = src
        .iter()
        .zip(dst)
        .zip(time)
        .filter(|((a, b), _)| a != b)
        .map(|((&a, &b), &t)| ((t - t0).div_euclid(seconds.max(1)), a, b))
        .collect();
    out.sort_unstable();
    out
}

/// A scorer of all pairs for one step: given the edges observed before the step
/// (distinct undirected pairs) it returns a function filling node `u`'s row.
pub(crate) type RowScorer<'a> = Box<dyn FnMut(u32, &mut [f64]) + 'a>;

/// The edges of each step from `from` (inclusive) to `to` (exclusive) that holds any:
/// `(step, start, end)` into `edges`.
fn step_ranges(edges: &[(i64, u32, u32)], from: i64, to: i64) -> Vec<(i64, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < edges.len() {
        let step = edges[i].0;
        let j = i + edges[i..].partition_point(|e| e.0 == step);
        if (from..to).contains(&step) {
            out.push((step, i, j));
        }
        i = j;
    }
    out
}

/// Runs the protocol over the steps from `first_step` on, the reciprocity weight chosen
/// on the steps from `val_step` to `first_step`, `gae` building the auto-encoder's row
/// scorer from the observed pairs.
pub(crate) fn evaluate<'a>(
    n: usize,
    edges: &[(i64, u32, u32)],
    val_step: i64,
    first_step: i64,
    seconds: i64,
    mut gae: impl FnMut(&[(u32, u32)]) -> RowScorer<'a>,
) -> SnapshotReport {
    // the reciprocity weight: best validation MAP (the smallest weight among equals)
    let val = step_ranges(edges, val_step, first_step);
    let mut val_map: Vec<(f64, f64)> = RECIPROCITY_WEIGHTS.iter().map(|&c| (c, 0.0)).collect();
    let mut row = vec![0.0; n];
    for &(step, i, j) in &val {
        let targets = step_targets(&edges[i..j]).0;
        let (act, pend) = activity_and_pending(n, &edges[..i], step);
        for (c, sum) in val_map.iter_mut() {
            let mut e = StepEval::new(&targets);
            for u in 0..n as u32 {
                reciprocity_row(&act, &pend[u as usize], *c, u, &mut row);
                e.row(u, &row);
            }
            *sum += e.finish().0 / val.len() as f64;
        }
    }
    let weight = val_map
        .iter()
        .fold((0.0, f64::NEG_INFINITY), |best, &(c, m)| {
            if m > best.1 {
                (c, m)
            } else {
                best
            }
        })
        .0;
    let (mut steps, mut links, mut repeated) = (0, 0, 0);
    // (MAP, MRR) sums of the auto-encoder, Adamic-Adar, history, activity, reciprocity
    let mut sums = [(0.0, 0.0); 5];
    for (step, i, j) in step_ranges(edges, first_step, i64::MAX) {
        let s = score_step(n, &edges[..i], &edges[i..j], step, weight, &mut gae);
        for (sum, (m, r)) in sums.iter_mut().zip(s.scores) {
            sum.0 += m;
            sum.1 += r;
        }
        (links, repeated) = (links + s.links, repeated + s.repeated);
        steps += 1;
    }
    let k = steps.max(1) as f64;
    let [g, a, h, v, rc] = sums.map(|(m, r)| SnapshotScore {
        map: m / k,
        mrr: r / k,
    });
    SnapshotReport {
        seconds,
        steps,
        links,
        repeated,
        gae: g,
        adamic_adar: a,
        history: h,
        activity: v,
        reciprocity: rc,
        reciprocity_weight: weight,
        val_steps: val.len(),
        val_map,
    }
}

/// The weight of an edge of step `at` seen from step `step`: `2^-(age in steps)`, 1 for
/// the step just before.
fn recency(step: i64, at: i64) -> f64 {
    (-((step - 1 - at) as f64)).exp2()
}

/// A step's links as targets: each node's partners (both ways, sorted), and its
/// distinct pairs.
fn step_targets(now: &[(i64, u32, u32)]) -> (FxHashMap<u32, Vec<u32>>, Vec<u64>) {
    let mut targets: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    let mut step_pairs: FxHashSet<u64> = FxHashSet::default();
    let mut pairs = Vec::new();
    for e in now {
        if step_pairs.insert(key(e.1, e.2)) {
            targets.entry(e.1).or_default().push(e.2);
            targets.entry(e.2).or_default().push(e.1);
            pairs.push(key(e.1, e.2));
        }
    }
    for l in targets.values_mut() {
        l.sort_unstable();
    }
    (targets, pairs)
}

/// Per node its recency-weighted edge count (half-life one step before `step`), and per
/// node the pending returns `(partner, 2^-(age of the latest one-way link))` of the
/// pairs linked in one direction only.
fn activity_and_pending(
    n: usize,
    before: &[(i64, u32, u32)],
    step: i64,
) -> (Vec<f64>, Vec<Vec<(u32, f64)>>) {
    let mut act = vec![0.0; n];
    // latest step of each direction
    let mut last: FxHashMap<(u32, u32), i64> = FxHashMap::default();
    for e in before {
        let w = recency(step, e.0);
        act[e.1 as usize] += w;
        act[e.2 as usize] += w;
        let l = last.entry((e.1, e.2)).or_insert(e.0);
        *l = (*l).max(e.0);
    }
    let mut pend: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    let mut one_way: Vec<(u32, u32, i64)> = last
        .iter()
        .filter(|((a, b), _)| !last.contains_key(&(*b, *a)))
        .map(|(&(a, b), &t)| (a, b, t))
        .collect();
    one_way.sort_unstable();
    for (a, b, t) in one_way {
        let w = recency(step, t);
        pend[a as usize].push((b, w));
        pend[b as usize].push((a, w));
    }
    (act, pend)
}

/// Row `u` of the reciprocity scorer: `act_u act_v (1 + c p(u, v))` (with no pending
/// returns, or `c = 0`: the activity scorer).
fn reciprocity_row(act: &[f64], pend_u: &[(u32, f64)], c: f64, u: u32, row: &mut [f64]) {
    let au = act[u as usize];
    for (r, &av) in row.iter_mut().zip(act) {
        *r = au * av;
    }
    for &(v, p) in pend_u {
        row[v as usize] *= 1.0 + c * p;
    }
}

/// One step's outcome.
struct StepScores {
    /// (MAP, MRR) of the auto-encoder, Adamic-Adar, history, activity and reciprocity.
    scores: [(f64, f64); 5],
    links: usize,
    repeated: usize,
}

/// Scores step `step`, whose edges are `now`, with the edges `before` it observed.
fn score_step<'a>(
    n: usize,
    before: &[(i64, u32, u32)],
    now: &[(i64, u32, u32)],
    step: i64,
    recip: f64,
    gae: &mut impl FnMut(&[(u32, u32)]) -> RowScorer<'a>,
) -> StepScores {
    let mut seen: FxHashSet<u64> = FxHashSet::default();
    let observed: Vec<(u32, u32)> = before
        .iter()
        .filter(|e| seen.insert(key(e.1, e.2)))
        .map(|e| (e.1, e.2))
        .collect();
    // the step's distinct pairs, both ways, sorted per node
    let (targets, pairs) = step_targets(now);
    let links = pairs.len();
    let repeated = pairs.iter().filter(|k| seen.contains(k)).count();
    // recency-weighted history per pair, activity per node and pending returns
    let mut hist: FxHashMap<u64, f64> = FxHashMap::default();
    for e in before {
        *hist.entry(key(e.1, e.2)).or_default() += recency(step, e.0);
    }
    let (act, pend) = activity_and_pending(n, before, step);
    let mut hist_of: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    for (&k, &h) in &hist {
        let (a, b) = ((k >> 32) as u32, k as u32);
        hist_of[a as usize].push((b, h));
        hist_of[b as usize].push((a, h));
    }
    let (s, d): (Vec<u32>, Vec<u32>) = observed.iter().copied().unzip();
    let adj = Csr::undirected(n, &s, &d, false);
    let weight = adamic_adar_weights(&adj);
    let mut g = gae(&observed);
    let mut evals: [StepEval<'_>; 5] = std::array::from_fn(|_| StepEval::new(&targets));
    let [eg, ea, eh, ev, er] = &mut evals;
    let (mut row, mut aa_row) = (vec![0.0; n], vec![0.0; n]);
    for u in 0..n as u32 {
        g(u, &mut row);
        eg.row(u, &row);
        adamic_adar_row(&adj, &weight, u, &mut aa_row);
        ea.row(u, &aa_row);
        // linked pairs first (1 + history), the rest by Adamic-Adar in [0, 1)
        for (r, &a) in row.iter_mut().zip(&aa_row) {
            *r = a / (1.0 + a);
        }
        for &(v, h) in &hist_of[u as usize] {
            row[v as usize] = 1.0 + h;
        }
        eh.row(u, &row);
        reciprocity_row(&act, &[], 0.0, u, &mut row);
        ev.row(u, &row);
        reciprocity_row(&act, &pend[u as usize], recip, u, &mut row);
        er.row(u, &row);
    }
    StepScores {
        scores: evals.map(StepEval::finish),
        links,
        repeated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_groups_ties_like_scikit_learn() {
        // sorted: 0.9 (+), 0.8 (-), 0.7 (+), 0.7 (-), 0.1 (+)
        // thresholds: 0.9 → P 1, R 1/3; 0.7 → P 2/4, R 2/3; 0.1 → P 3/5, R 1
        let ap = average_precision(&[0.9, 0.7, 0.1], &[0.8, 0.7]);
        let want = 1.0 / 3.0 + (1.0 / 3.0) * 0.5 + (1.0 / 3.0) * 0.6;
        assert!((ap - want).abs() < 1e-12, "{ap} {want}");
        // the same through the lake's curves (which sorts everything)
        let c = ledgerflow_ml::metrics::curves(
            &[0.9, 0.7, 0.1, 0.8, 0.7],
            &[true, true, true, false, false],
        );
        assert!((c.pr_auc.unwrap() - ap).abs() < 1e-12);
    }

    #[test]
    fn a_reciprocated_link_is_found_by_history_and_counted_as_repeated() {
        // step 0: 0-1, 1-2, 2-3; step 1: 1-0 again (reciprocated) and 3-4 (new)
        let src = [0u32, 1, 2, 1, 3];
        let dst = [1u32, 2, 3, 0, 4];
        let time = [0i64, 5, 9, 12, 15];
        let edges = steps_of(&src, &dst, &time, 10);
        assert_eq!(edges.iter().filter(|e| e.0 == 1).count(), 2);
        let r = evaluate(5, &edges, 1, 1, 10, |_| {
            Box::new(|_, row: &mut [f64]| row.iter_mut().for_each(|v| *v = 0.0))
        });
        assert_eq!((r.steps, r.links, r.repeated), (1, 2, 1));
        // history, all 10 pairs: 0-1, 1-2, 2-3 linked before (1 + 2^0 = 2); 0-2 and
        // 1-3 share a neighbour of degree 2 (a = 1/ln 2, a/(1+a) ≈ 0.59); the other 5
        // at 0, 3-4 among them. Positive 0-1 ties with 1-2 and 2-3: precision 1/3 at
        // recall 1/2; 3-4 enters with all 10 pairs: precision 2/10 at recall 1.
        let want = 0.5 * (1.0 / 3.0) + 0.5 * 0.2;
        assert!((r.history.map - want).abs() < 1e-12, "{:?}", r.history);
        // the constant auto-encoder ties everything: AP = share of positives
        assert!((r.gae.map - 0.2).abs() < 1e-12);
        // activity (edge counts 1, 2, 2, 1, 0): 1-2 alone at 4, then 0-1 with 0-2, 1-3
        // and 2-3 at 2 (precision 1/5 at recall 1/2), 3-4 at 0 with everything (2/10)
        assert!((r.activity.map - 0.2).abs() < 1e-12, "{:?}", r.activity);
        // MRR over the rows with a link: row 0 (0-1 alone on top: rank 1), row 1 (1-0
        // ties with 1-2: 1.5), row 3 (3-4 at 0 below 3-2 and 3-1, tied with 3-0: 3.5),
        // row 4 (all tied at 0: 2.5)
        let mrr = (1.0 + 1.0 / 1.5 + 1.0 / 3.5 + 1.0 / 2.5) / 4.0;
        assert!(
            (r.history.mrr - mrr).abs() < 1e-12,
            "{} {mrr}",
            r.history.mrr
        );
    }

    #[test]
    fn the_validation_steps_choose_the_reciprocity_weight() {
        // step 0: 0→1, 1→2, 2→3, 3→2; step 1 (validation): 1→0 returns 0→1;
        // step 2 (test): 2→1 returns 1→2
        let src = [0u32, 1, 2, 3, 1, 2];
        let dst = [1u32, 2, 3, 2, 0, 1];
        let time = [0i64, 1, 2, 3, 10, 20];
        let edges = steps_of(&src, &dst, &time, 10);
        let r = evaluate(5, &edges, 1, 2, 10, |_| {
            Box::new(|_, row: &mut [f64]| row.iter_mut().for_each(|v| *v = 0.0))
        });
        // validation (activity 1, 2, 3, 2, 0; pending 0-1 and 1-2 at weight 1): the
        // target 0-1 scores 2(1 + c) against 1-2's 6(1 + c), 2-3's 6, 1-3's 4, 0-2's 3
        // and 0-3's 2: precision 1/6 (c = 0, tied with 0-3), 1/4 (c = 1), 1/2 (c ≥ 10)
        let want = [
            (0.0, 1.0 / 6.0),
            (1.0, 0.25),
            (10.0, 0.5),
            (100.0, 0.5),
            (1000.0, 0.5),
            (10000.0, 0.5),
        ];
        assert_eq!(r.val_steps, 1);
        for ((c, m), (wc, wm)) in r.val_map.iter().zip(want) {
            assert_eq!(*c, wc);
            assert!((m - wm).abs() < 1e-12, "{:?}", r.val_map);
        }
        assert_eq!(r.reciprocity_weight, 10.0, "the smallest of the best");
        // test (activity 1.5, 2, 1.5, 1, 0; 1-2 pending at 2^-1): 1-2 scores
        // 3 (1 + 10/2) = 18, alone on top; activity alone ties it with 0-1 at 3
        assert_eq!((r.steps, r.links, r.repeated), (1, 1, 1));
        assert!(
            (r.reciprocity.map - 1.0).abs() < 1e-12,
            "{:?}",
            r.reciprocity
        );
        assert!(
            (r.reciprocity.mrr - 1.0).abs() < 1e-12,
            "{:?}",
            r.reciprocity
        );
        assert!((r.activity.map - 0.5).abs() < 1e-12, "{:?}", r.activity);
    }
}
