//! Address clustering over a [`Ledger`]: the multi-input heuristic (coinbase excluded),
//! CoinJoin handling, change heuristics and the super-cluster guard, with every union (and
//! every refused one) kept as evidence.
//!
//! Transactions are processed in chain order; inside one, the first input address is
//! joined with each other input address, then the change output's address with the first
//! input address (BlockSci's order). Only unions of two different clusters are recorded:
//! the recorded merges of an entity form a spanning tree of it, so the path between two
//! addresses in that tree is *the* explanation of why they are together.

use crate::change::ChangeSpec;
use crate::coinjoin::{self, Detection};
use crate::ledger::{Ledger, NONE};
use crate::unionfind::UnionFind;

/// What to do with detected CoinJoins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CoinJoinMode {
    /// Detect them and keep their inputs apart (no multi-input, no change merge).
    #[default]
    Exclude,
    /// Do not look for them: every transaction merges its inputs (GraphSense without its
    /// filter, BlockSci with `ignore_coinjoin=False`).
    Include,
    /// Detect and list them, mark their participants, but merge as `include` does.
    Flag,
}

impl CoinJoinMode {
    /// Parses `exclude`, `include` or `flag`.
    pub fn parse(s: &str) -> Result<CoinJoinMode, String> {
        match s {
            "exclude" => Ok(CoinJoinMode::Exclude),
            "include" => Ok(CoinJoinMode::Include),
            "flag" => Ok(CoinJoinMode::Flag),
            _ => Err(format!(
                "unknown CoinJoin mode {s:?} (exclude, include or flag)"
            )),
        }
    }

    /// The mode's name.
    pub fn name(self) -> &'static str {
        match self {
            CoinJoinMode::Exclude => "exclude",
            CoinJoinMode::Include => "include",
            CoinJoinMode::Flag => "flag",
        }
    }
}

/// How to cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// CoinJoin handling.
    pub coinjoin: CoinJoinMode,
    /// Change heuristics (empty: multi-input only).
    pub change: ChangeSpec,
    /// Refuse a union of two clusters that both have more addresses than this.
    pub guard_size: Option<u32>,
    /// Change picks below this confidence are not merged (recorded as refused).
    pub min_confidence: f64,
    /// Refuse a union of two clusters whose labels (address → category, from
    /// `address_labels`) differ.
    pub labels: Option<std::sync::Arc<std::collections::BTreeMap<String, String>>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            coinjoin: CoinJoinMode::Exclude,
            change: ChangeSpec::default(),
            guard_size: None,
            min_confidence: 0.0,
            labels: None,
        }
    }
}

impl Options {
    /// One line naming every option (stored with a build, compared on resume).
    pub fn describe(&self) -> String {
        let mut d = format!(
            "coinjoin={} change={} combine={:?} guard={} min-confidence={}",
            self.coinjoin.name(),
            self.change.describe(),
            self.change.combine,
            self.guard_size
                .map(|g| g.to_string())
                .unwrap_or_else(|| "none".into()),
            self.min_confidence
        );
        if let Some(l) = &self.labels {
            // which labels: their count and a digest, so changed labels cluster afresh
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for (a, c) in l.iter() {
                for b in a.bytes().chain([0]).chain(c.bytes()).chain([0]) {
                    h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
                }
            }
            d.push_str(&format!(" guard-labels={}:{h:016x}", l.len()));
        }
        d
    }
}

/// Why two addresses were (or would have been) merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeRule {
    /// Spent together in one transaction.
    MultiInput,
    /// The change output's address joined with the spender (output position).
    Change(u32),
}

/// What happened to a merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The clusters were joined.
    Merged,
    /// Refused: both clusters were above the guard size.
    RefusedGuard,
    /// Refused: the change pick's confidence was below the minimum.
    RefusedConfidence,
    /// Refused by the guard: the two clusters carry different labels.
    RefusedLabels,
}

impl Status {
    /// The name in `entity_merges.status`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Merged => "merged",
            Status::RefusedGuard => "refused-guard",
            Status::RefusedConfidence => "refused-confidence",
            Status::RefusedLabels => "refused-labels",
        }
    }
}

/// One recorded union of two clusters (or a refused one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merge {
    /// The transaction (ledger ordinal).
    pub tx: u32,
    /// The spender's address (the first input's).
    pub a: u32,
    /// The address joined to it.
    pub b: u32,
    /// The rule.
    pub rule: MergeRule,
    /// Confidence (1 for multi-input).
    pub confidence: f64,
    /// Merged or refused.
    pub status: Status,
    /// Size of `a`'s cluster before.
    pub size_a: u32,
    /// Size of `b`'s cluster before.
    pub size_b: u32,
}

/// The state of a clustering.
#[derive(Debug, Clone, Default)]
pub struct Clustering {
    /// The sets.
    pub uf: UnionFind,
    /// Recorded merges, in chain order.
    pub merges: Vec<Merge>,
    /// Detected CoinJoins (ledger ordinal and what fired), in chain order.
    pub coinjoins: Vec<(u32, Detection)>,
    /// Change outputs picked: (transaction, position, confidence).
    pub changes: Vec<(u32, u32, f64)>,
    /// Transactions processed so far (a prefix of the ledger).
    pub done: u32,
    /// With the label guard: the category of each cluster root ([`NO_LABEL`]: none),
    /// indexes into `label_names`.
    pub root_label: Vec<u16>,
    pub label_names: Vec<String>,
}

/// No label.
pub const NO_LABEL: u16 = u16::MAX;

impl Clustering {
    /// A clustering of `n` addresses in which nothing is merged yet.
    pub fn new(n: usize) -> Self {
        Clustering {
            uf: UnionFind::new(n),
            ..Clustering::default()
        }
    }

    fn try_union(&mut self, tx: u32, a: u32, b: u32, rule: MergeRule, conf: f64, opts: &Options) {
        let (ra, rb) = (self.uf.find(a), self.uf.find(b));
        if ra == rb {
            return;
        }
        let (size_a, size_b) = (self.uf.size_of_root(ra), self.uf.size_of_root(rb));
        let (la, lb) = if opts.labels.is_some() {
            (self.root_label[ra as usize], self.root_label[rb as usize])
        } else {
            (NO_LABEL, NO_LABEL)
        };
        let status = if conf < opts.min_confidence {
            Status::RefusedConfidence
        } else if opts.guard_size.is_some_and(|g| size_a > g && size_b > g) {
            Status::RefusedGuard
        } else if la != NO_LABEL && lb != NO_LABEL && la != lb {
            Status::RefusedLabels
        } else {
            let root = self.uf.link(ra, rb);
            if opts.labels.is_some() {
                self.root_label[root as usize] = if la != NO_LABEL { la } else { lb };
            }
            Status::Merged
        };
        self.merges.push(Merge {
            tx,
            a,
            b,
            rule,
            confidence: conf,
            status,
            size_a,
            size_b,
        });
    }

    /// Processes the ledger's transactions from `self.done` to its end.
    pub fn extend(&mut self, l: &Ledger, opts: &Options) {
        self.uf.grow(l.book.len());
        self.sync_labels(l, opts);
        for t in self.done..l.txs.len() as u32 {
            self.process(l, t, opts);
        }
        self.done = l.txs.len() as u32;
    }

    /// Gives the addresses added since the last call their labels (a clustering restored
    /// from an earlier build gets them all, onto its roots).
    fn sync_labels(&mut self, l: &Ledger, opts: &Options) {
        let Some(labels) = &opts.labels else { return };
        let n = l.book.len();
        let restored = self.root_label.is_empty() && self.done > 0;
        let start = self.root_label.len();
        self.root_label.resize(n, NO_LABEL);
        for i in start..n {
            let Some(c) = labels.get(l.book.name(i as u32)) else {
                continue;
            };
            let k = match self.label_names.iter().position(|x| x == c) {
                Some(k) => k as u16,
                None => {
                    self.label_names.push(c.clone());
                    (self.label_names.len() - 1) as u16
                }
            };
            let r = if restored {
                self.uf.find(i as u32)
            } else {
                i as u32
            };
            if self.root_label[r as usize] == NO_LABEL {
                self.root_label[r as usize] = k;
            }
        }
    }

    fn process(&mut self, l: &Ledger, t: u32, opts: &Options) {
        if l.txs[t as usize].coinbase {
            return;
        }
        if opts.coinjoin != CoinJoinMode::Include {
            if let Some(d) = coinjoin::detect(l, t) {
                self.coinjoins.push((t, d));
                if opts.coinjoin == CoinJoinMode::Exclude {
                    return;
                }
            }
        }
        let ins = l.inputs_of(t);
        let Some(first) = ins.iter().map(|i| i.addr).find(|&a| a != NONE) else {
            return;
        };
        for i in ins {
            if i.addr != NONE && i.addr != first {
                self.try_union(t, first, i.addr, MergeRule::MultiInput, 1.0, opts);
            }
        }
        if opts.change.is_empty() {
            return;
        }
        if let Some(pick) = opts.change.unique(l, t) {
            let o = l.outputs_of(t)[pick.position as usize];
            self.changes.push((t, pick.position, pick.confidence));
            if o.addr != NONE && o.addr != first {
                self.try_union(
                    t,
                    first,
                    o.addr,
                    MergeRule::Change(pick.position),
                    pick.confidence,
                    opts,
                );
            }
        }
    }

    /// The entity of every address: the smallest address id in its cluster.
    pub fn entity_ids(&mut self) -> Vec<u32> {
        self.uf.smallest_members()
    }
}

/// Clusters a whole ledger.
pub fn cluster(l: &Ledger, opts: &Options) -> Clustering {
    let mut c = Clustering::new(l.book.len());
    c.extend(l, opts);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testing::{h, inp, out};
    use crate::ledger::LedgerBuilder;

    /// a, b, c, d funded; (a, b) spent together; (c, d) spent together; then (a, c).
    fn ledger() -> Ledger {
        let mut b = LedgerBuilder::new();
        b.push(
            &h(1),
            1,
            0,
            0,
            0,
            true,
            &[],
            &[out("a", 10), out("b", 10), out("c", 10), out("d", 10)],
        )
        .unwrap();
        b.push(
            &h(2),
            2,
            0,
            0,
            0,
            false,
            &[inp(1, 0, "a", 10), inp(1, 1, "b", 10)],
            &[out("e", 19)],
        )
        .unwrap();
        b.push(
            &h(3),
            2,
            0,
            1,
            0,
            false,
            &[inp(1, 2, "c", 10), inp(1, 3, "d", 10)],
            &[out("f", 19)],
        )
        .unwrap();
        b.push(
            &h(4),
            3,
            0,
            0,
            0,
            false,
            &[inp(2, 0, "e", 19), inp(3, 0, "f", 19)],
            &[out("g", 37)],
        )
        .unwrap();
        b.finish()
    }

    #[test]
    fn multi_input_merges_and_records_a_spanning_tree() {
        let l = ledger();
        let mut c = cluster(&l, &Options::default());
        let e = c.entity_ids();
        // ids: a0 b1 c2 d3 e4 f5 g6
        assert_eq!(e, vec![0, 0, 2, 2, 4, 4, 6]);
        assert_eq!(c.merges.len(), 3);
        assert!(c.merges.iter().all(|m| m.status == Status::Merged));
    }

    #[test]
    fn guard_refuses_joining_two_big_clusters() {
        let mut b = LedgerBuilder::new();
        b.push(
            &h(1),
            1,
            0,
            0,
            0,
            true,
            &[],
            &[out("a", 10), out("b", 10), out("c", 10), out("d", 10)],
        )
        .unwrap();
        b.push(
            &h(2),
            2,
            0,
            0,
            0,
            false,
            &[inp(1, 0, "a", 10), inp(1, 1, "b", 10)],
            &[out("a", 19)],
        )
        .unwrap();
        b.push(
            &h(3),
            2,
            0,
            1,
            0,
            false,
            &[inp(1, 2, "c", 10), inp(1, 3, "d", 10)],
            &[out("c", 19)],
        )
        .unwrap();
        b.push(
            &h(4),
            3,
            0,
            0,
            0,
            false,
            &[inp(2, 0, "a", 19), inp(3, 0, "c", 19)],
            &[out("g", 37)],
        )
        .unwrap();
        let l = b.finish();
        let opts = Options {
            guard_size: Some(1),
            ..Options::default()
        };
        let mut c = cluster(&l, &opts);
        assert_eq!(c.entity_ids(), vec![0, 0, 2, 2, 4]);
        let refused: Vec<_> = c
            .merges
            .iter()
            .filter(|m| m.status == Status::RefusedGuard)
            .collect();
        assert_eq!(refused.len(), 1);
        assert_eq!((refused[0].size_a, refused[0].size_b), (2, 2));
    }

    #[test]
    fn guard_refuses_joining_differently_labelled_clusters() {
        let mut b = LedgerBuilder::new();
        b.push(
            &h(1),
            1,
            0,
            0,
            0,
            true,
            &[],
            &[out("a", 10), out("b", 10), out("c", 10), out("d", 10)],
        )
        .unwrap();
        b.push(
            &h(2),
            2,
            0,
            0,
            0,
            false,
            &[inp(1, 0, "a", 10), inp(1, 1, "b", 10)],
            &[out("a", 19)],
        )
        .unwrap();
        b.push(
            &h(3),
            2,
            0,
            1,
            0,
            false,
            &[inp(1, 2, "c", 10), inp(1, 3, "d", 10)],
            &[out("c", 19)],
        )
        .unwrap();
        b.push(
            &h(4),
            3,
            0,
            0,
            0,
            false,
            &[inp(2, 0, "a", 19), inp(3, 0, "c", 19)],
            &[out("g", 37)],
        )
        .unwrap();
        let l = b.finish();
        let labels = |pairs: &[(&str, &str)]| Options {
            labels: Some(std::sync::Arc::new(
                pairs
                    .iter()
                    .map(|(a, c)| (a.to_string(), c.to_string()))
                    .collect(),
            )),
            ..Options::default()
        };
        // b is an exchange, d a mixer: {a, b} and {c, d} stay apart.
        let opts = labels(&[("b", "exchange"), ("d", "mixer")]);
        let mut c = cluster(&l, &opts);
        assert_eq!(c.entity_ids(), vec![0, 0, 2, 2, 4]);
        let refused: Vec<_> = c
            .merges
            .iter()
            .filter(|m| m.status == Status::RefusedLabels)
            .collect();
        assert_eq!(refused.len(), 1);
        assert_eq!(Status::RefusedLabels.name(), "refused-labels");
        assert!(opts.describe().contains("guard-labels=2:"));
        // The same label on both sides, or a label on one side only, merges.
        for pairs in [
            &[("b", "exchange"), ("d", "exchange")][..],
            &[("d", "mixer")][..],
        ] {
            let mut c = cluster(&l, &labels(pairs));
            assert_eq!(c.entity_ids(), vec![0, 0, 0, 0, 4], "{pairs:?}");
        }
        // Resuming from a restored clustering (labels onto its roots) refuses the same.
        let mut first = l.clone();
        first.truncate(3);
        let mut r = cluster(&first, &opts);
        r.root_label.clear();
        r.label_names.clear();
        r.extend(&l, &opts);
        assert_eq!(r.entity_ids(), vec![0, 0, 2, 2, 4]);
    }

    #[test]
    fn resuming_equals_one_pass() {
        let l = ledger();
        let whole = cluster(&l, &Options::default());
        let mut c = Clustering::new(0);
        let mut prefix = l.clone();
        prefix.txs.truncate(2);
        c.extend(&prefix, &Options::default());
        c.extend(&l, &Options::default());
        assert_eq!(c.merges, whole.merges);
        assert_eq!(c.clone().entity_ids(), whole.clone().entity_ids());
    }
}
