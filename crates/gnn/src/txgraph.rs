//! The transaction graph of a UTXO chain: one node per transaction (named by its txid),
//! a link from the transaction that created an output to the one that spends it
//! (several spent outputs of one transaction: one link, their values summed; time: the
//! spender's block time), and per transaction the shape features the literature on
//! CoinJoins, peel chains and payment heuristics looks at ([`FEATURES`]).
//!
//! Beside the features, [`typology`] marks the two laundering shapes investigators
//! follow by hand, from their published definitions and without any label: CoinJoins
//! (the entities crate's five rules: Whirlpool, Wasabi 1 and 2, JoinMarket, BlockSci's
//! equal-output rule) and peeling chains (Meiklejohn et al. 2013: one input, two outputs,
//! the larger output, the remainder, spent by the next such transaction), graded by how
//! long the chain is.
//!
//! [`build`] is pure (a [`Ledger`] in); `EdgeSource::Transactions` (module `edges`)
//! reads the lake's `transactions` table into one.

use ledgerflow_entities::change::looks_like_peeling_chain;
use ledgerflow_entities::ledger::{AddressBook, Ledger, NONE};
use rustc_hash::FxHashSet;

use crate::dense::Mat;

/// The feature columns, in order. Counts and values are `ln(1 + x)`.
pub const FEATURES: [&str; 17] = [
    // ln(1 + inputs), ln(1 + outputs)
    "ln_inputs",
    "ln_outputs",
    // ln(1 + satoshis in), ln(1 + satoshis out)
    "ln_value_in",
    "ln_value_out",
    // fee / value in (0 for a coinbase)
    "fee_share",
    // the most outputs that carry one same value (1: all differ), and that over outputs
    "max_equal_outputs",
    "equal_output_share",
    // smallest over largest output value (1 with fewer than two outputs)
    "min_max_output_ratio",
    // largest output over the value out
    "largest_output_share",
    // mean count of trailing decimal zeros of the output values (at most 8)
    "round_outputs",
    // ln(1 + distinct input addresses)
    "ln_input_addresses",
    // 1 when an output pays an address that also funds an input
    "self_change",
    // outputs paying an address for its first time, over outputs
    "fresh_outputs",
    // spendable outputs spent within the lake, over spendable outputs
    "spent_outputs",
    // ln(1 + distinct transactions spent from), ln(1 + distinct spenders)
    "ln_parents",
    "ln_children",
    // mean over inputs of ln(1 + blocks the spent output waited)
    "ln_hold_blocks",
];

/// A transaction graph with its features.
#[derive(Debug, Clone, PartialEq)]
pub struct TxGraph {
    /// Txids (display hex), in chain order.
    pub nodes: Vec<String>,
    /// Links (node numbers): the spent transaction, the spender, the value spent, the
    /// spender's block time; one per pair, sorted.
    pub src: Vec<u32>,
    pub dst: Vec<u32>,
    pub weight: Vec<f64>,
    pub time: Vec<i64>,
    /// `nodes × FEATURES.len()`.
    pub x: Mat,
    /// Whether each transaction is a coinbase.
    pub coinbase: Vec<bool>,
    /// CoinJoin and peeling-chain marks ([`typology`]).
    pub typology: Typology,
}

/// Per transaction: which known shape it has and a score that ranks by it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Typology {
    /// `2 + (1 − 1/k)` for a CoinJoin whose most repeated output value repeats `k`
    /// times; `1 + (1 − 1/L)` for a transaction in a peeling chain of `L ≥ 2`
    /// transactions; 0 otherwise.
    pub score: Vec<f64>,
    /// `coinjoin:<rule>`, `peel_chain` or empty.
    pub pattern: Vec<String>,
    /// The length of the peeling chain through the transaction (1: none; 0: not
    /// peel-shaped).
    pub peel_run: Vec<u32>,
}

/// The transaction that continues peel-shaped `t`'s chain: the spender of its larger
/// output (the first of two equal ones) when that spender is peel-shaped too.
fn peel_next(l: &Ledger, t: u32) -> Option<u32> {
    let outs = l.outputs_of(t);
    let larger = if outs[1].value > outs[0].value { 1 } else { 0 };
    let c = outs[larger].spent_by;
    (c != NONE && looks_like_peeling_chain(l, c)).then_some(c)
}

/// CoinJoins and peeling chains of every transaction in `l` (transactions in chain
/// order, so a chain runs from lower numbers to higher ones).
pub fn typology(l: &Ledger) -> Typology {
    let n = l.txs.len();
    // the links of the chains, then run lengths: back[t] transactions up to and
    // including t, fwd[t] from t on
    let shaped: Vec<bool> = (0..n as u32)
        .map(|t| looks_like_peeling_chain(l, t))
        .collect();
    // a spender comes later in the chain order
    let next: Vec<Option<usize>> = (0..n)
        .map(|t| {
            let c = shaped[t].then(|| peel_next(l, t as u32)).flatten();
            c.map(|c| c as usize).filter(|&c| c > t)
        })
        .collect();
    // a peel-shaped spender has one input, so one transaction links into it
    let mut back: Vec<u32> = shaped.iter().map(|&s| u32::from(s)).collect();
    for t in 0..n {
        if let Some(c) = next[t] {
            back[c] = back[t] + 1;
        }
    }
    let mut fwd = vec![0u32; n];
    for t in (0..n).rev() {
        if shaped[t] {
            fwd[t] = 1 + next[t].map_or(0, |c| fwd[c]);
        }
    }
    let mut out = Typology {
        score: vec![0.0; n],
        pattern: vec![String::new(); n],
        peel_run: vec![0; n],
    };
    for t in 0..n {
        if let Some(d) = ledgerflow_entities::coinjoin::detect(l, t as u32) {
            out.score[t] = 3.0 - 1.0 / f64::from(d.equal_count.max(1));
            out.pattern[t] = format!("coinjoin:{}", d.rule.name());
        }
        if shaped[t] {
            let run = back[t] + fwd[t] - 1;
            out.peel_run[t] = run;
            if run >= 2 && out.pattern[t].is_empty() {
                out.score[t] = 2.0 - 1.0 / f64::from(run);
                out.pattern[t] = "peel_chain".into();
            }
        }
    }
    out
}

fn trailing_zeros10(mut v: i64) -> u32 {
    if v <= 0 {
        return 0;
    }
    let mut z = 0;
    while v % 10 == 0 && z < 8 {
        v /= 10;
        z += 1;
    }
    z
}

/// The graph and features of every transaction in `l`.
pub fn build(l: &Ledger) -> TxGraph {
    let n = l.txs.len();
    let book: &AddressBook = &l.book;
    let mut x = Mat::zeros(n, FEATURES.len());
    let mut pairs: Vec<(u32, u32, i64)> = Vec::new();
    for t in 0..n as u32 {
        let tx = &l.txs[t as usize];
        let ins = l.inputs_of(t);
        let outs = l.outputs_of(t);
        let value_in: i64 = ins.iter().map(|i| i.value).sum();
        let value_out: i64 = outs.iter().map(|o| o.value).sum();
        let fee = if tx.coinbase {
            0
        } else {
            (value_in - value_out).max(0)
        };
        let mut values: Vec<i64> = outs.iter().map(|o| o.value).filter(|&v| v > 0).collect();
        values.sort_unstable();
        let mut max_equal = usize::from(!values.is_empty());
        let mut run = 1;
        for w in values.windows(2) {
            run = if w[0] == w[1] { run + 1 } else { 1 };
            max_equal = max_equal.max(run);
        }
        let ratio = match (values.first(), values.last()) {
            (Some(&lo), Some(&hi)) if values.len() >= 2 && hi > 0 => lo as f64 / hi as f64,
            _ => 1.0,
        };
        let largest = match values.last() {
            Some(&hi) if value_out > 0 => hi as f64 / value_out as f64,
            _ => 1.0,
        };
        let round = if values.is_empty() {
            0.0
        } else {
            values
                .iter()
                .map(|&v| f64::from(trailing_zeros10(v)))
                .sum::<f64>()
                / values.len() as f64
        };
        let in_addrs: FxHashSet<u32> = ins.iter().map(|i| i.addr).filter(|&a| a != NONE).collect();
        let self_change = outs.iter().any(|o| in_addrs.contains(&o.addr));
        let fresh = outs
            .iter()
            .filter(|o| o.addr != NONE && book.first_tx.get(o.addr as usize) == Some(&t))
            .count();
        let spendable: Vec<_> = outs.iter().filter(|o| o.spendable()).collect();
        let spent = spendable.iter().filter(|o| o.spent_by != NONE).count();
        let mut parents: Vec<u32> = ins
            .iter()
            .map(|i| i.spent_tx)
            .filter(|&p| p != NONE)
            .collect();
        parents.sort_unstable();
        parents.dedup();
        let mut children: Vec<u32> = outs
            .iter()
            .map(|o| o.spent_by)
            .filter(|&c| c != NONE)
            .collect();
        children.sort_unstable();
        children.dedup();
        let held: Vec<f64> = ins
            .iter()
            .filter(|i| i.spent_tx != NONE)
            .map(|i| ((tx.height - l.txs[i.spent_tx as usize].height).max(0) as f64).ln_1p())
            .collect();
        let ratio_of = |a: usize, b: usize| if b > 0 { a as f64 / b as f64 } else { 0.0 };
        let row = [
            (ins.len() as f64).ln_1p(),
            (outs.len() as f64).ln_1p(),
            (value_in.max(0) as f64).ln_1p(),
            (value_out.max(0) as f64).ln_1p(),
            if value_in > 0 {
                fee as f64 / value_in as f64
            } else {
                0.0
            },
            max_equal as f64,
            ratio_of(max_equal, outs.len()),
            ratio,
            largest,
            round,
            (in_addrs.len() as f64).ln_1p(),
            f64::from(u8::from(self_change)),
            ratio_of(fresh, outs.len()),
            ratio_of(spent, spendable.len()),
            (parents.len() as f64).ln_1p(),
            (children.len() as f64).ln_1p(),
            if held.is_empty() {
                0.0
            } else {
                held.iter().sum::<f64>() / held.len() as f64
            },
        ];
        x.data[t as usize * FEATURES.len()..(t as usize + 1) * FEATURES.len()]
            .copy_from_slice(&row);
        for i in ins {
            if i.spent_tx != NONE {
                pairs.push((i.spent_tx, t, i.value));
            }
        }
    }
    pairs.sort_unstable_by_key(|p| (p.0, p.1));
    let (mut src, mut dst, mut weight, mut time) = (vec![], vec![], vec![], vec![]);
    for p in pairs {
        if src.last() == Some(&p.0) && dst.last() == Some(&p.1) {
            if let Some(w) = weight.last_mut() {
                *w += p.2 as f64;
            }
            continue;
        }
        src.push(p.0);
        dst.push(p.1);
        weight.push(p.2 as f64);
        time.push(l.txs[p.1 as usize].time);
    }
    TxGraph {
        nodes: (0..n as u32).map(|t| l.tx_hex(t)).collect(),
        src,
        dst,
        weight,
        time,
        x,
        coinbase: l.txs.iter().map(|t| t.coinbase).collect(),
        typology: typology(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledgerflow_entities::ledger::{AddrType, InputSpec, LedgerBuilder, OutputSpec};

    fn h(n: u32) -> String {
        format!("{n:064x}")
    }
    fn out(a: &str, v: i64) -> OutputSpec {
        OutputSpec {
            address: a.into(),
            kind: AddrType::PubKeyHash,
            value: v,
        }
    }
    fn inp(tx: u32, i: u32, a: &str, v: i64) -> InputSpec {
        InputSpec {
            spent_hash: h(tx),
            spent_index: i,
            address: a.into(),
            kind: AddrType::PubKeyHash,
            value: v,
        }
    }

    fn col(g: &TxGraph, t: usize, name: &str) -> f64 {
        let c = FEATURES.iter().position(|f| *f == name).unwrap();
        g.x.row(t)[c]
    }

    #[test]
    fn shapes_by_hand() {
        let mut b = LedgerBuilder::new();
        // 1: coinbase paying a and b
        b.push(
            &h(1),
            1,
            100,
            0,
            0,
            true,
            &[],
            &[out("a", 5_000), out("b", 3_000)],
        )
        .unwrap();
        // 2: a CoinJoin-shaped spend of both coinbase outputs: three equal outputs + change
        b.push(
            &h(2),
            2,
            200,
            1,
            0,
            false,
            &[inp(1, 0, "a", 5_000), inp(1, 1, "b", 3_000)],
            &[
                out("c", 2_000),
                out("d", 2_000),
                out("e", 2_000),
                out("a", 1_900),
            ],
        )
        .unwrap();
        // 3: a peel: 1 in, a small payment and the rest to a fresh address
        b.push(
            &h(3),
            4,
            300,
            1,
            0,
            false,
            &[inp(2, 0, "c", 2_000)],
            &[out("f", 150), out("g", 1_800)],
        )
        .unwrap();
        let l = b.finish();
        let g = build(&l);
        assert_eq!(g.nodes, vec![h(1), h(2), h(3)]);
        // 1→2 once (two outputs spent: values summed), 2→3
        assert_eq!(g.src, vec![0, 1]);
        assert_eq!(g.dst, vec![1, 2]);
        assert_eq!(g.weight, vec![8_000.0, 2_000.0]);
        assert_eq!(g.time, vec![200, 300]);
        assert_eq!(g.coinbase, vec![true, false, false]);
        assert_eq!(col(&g, 1, "max_equal_outputs"), 3.0);
        assert_eq!(col(&g, 1, "equal_output_share"), 0.75);
        assert_eq!(col(&g, 1, "self_change"), 1.0);
        assert_eq!(col(&g, 1, "fee_share"), 100.0 / 8_000.0);
        assert_eq!(col(&g, 1, "min_max_output_ratio"), 0.95);
        assert_eq!(col(&g, 1, "ln_inputs"), 2f64.ln_1p());
        assert_eq!(col(&g, 1, "ln_parents"), 1f64.ln_1p());
        assert_eq!(col(&g, 1, "ln_children"), 1f64.ln_1p());
        // c, d, e are new; a was paid by the coinbase first
        assert_eq!(col(&g, 1, "fresh_outputs"), 0.75);
        assert_eq!(col(&g, 1, "spent_outputs"), 0.25);
        assert_eq!(col(&g, 1, "ln_hold_blocks"), 1f64.ln_1p());
        // round: 2000 ×3 → 3 zeros, 1900 → 2 zeros
        assert_eq!(col(&g, 1, "round_outputs"), 11.0 / 4.0);
        assert_eq!(col(&g, 2, "max_equal_outputs"), 1.0);
        assert_eq!(col(&g, 2, "min_max_output_ratio"), 150.0 / 1_800.0);
        assert_eq!(col(&g, 2, "largest_output_share"), 1_800.0 / 1_950.0);
        assert_eq!(col(&g, 2, "ln_hold_blocks"), 2f64.ln_1p());
        assert_eq!(col(&g, 0, "fee_share"), 0.0);
        assert_eq!(col(&g, 0, "ln_inputs"), 0.0);
        assert!(g.x.data.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn coinjoins_and_peeling_chains_by_hand() {
        // transaction n at height n, time 100 n
        let spend = |b: &mut LedgerBuilder, n: u32, ins: &[InputSpec], outs: &[OutputSpec]| {
            b.push(&h(n), n.into(), 100 * i64::from(n), 1, 0, false, ins, outs)
                .unwrap();
        };
        let mut b = LedgerBuilder::new();
        // 1: coinbase paying a, b, c, p
        b.push(
            &h(1),
            1,
            100,
            0,
            0,
            true,
            &[],
            &[
                out("a", 5_000),
                out("b", 6_000),
                out("c", 7_000),
                out("p", 100_000),
            ],
        )
        .unwrap();
        // 2: three people join: three outputs of 4,000 and three changes (BlockSci's
        // equal-output rule: 6 outputs, p = 3, the value repeats exactly 3 times)
        spend(
            &mut b,
            2,
            &[
                inp(1, 0, "a", 5_000),
                inp(1, 1, "b", 6_000),
                inp(1, 2, "c", 7_000),
            ],
            &[
                out("x", 4_000),
                out("y", 4_000),
                out("z", 4_000),
                out("a2", 900),
                out("b2", 1_900),
                out("c2", 2_900),
            ],
        );
        // 3 → 4 → 5: a peeling chain, each spending the remainder (the larger output,
        // second in 3 and 5, first in 4); 6 spends 5's small payment (not a link)
        spend(
            &mut b,
            3,
            &[inp(1, 3, "p", 100_000)],
            &[out("s1", 1_000), out("r1", 98_900)],
        );
        spend(
            &mut b,
            4,
            &[inp(3, 1, "r1", 98_900)],
            &[out("r2", 97_800), out("s2", 1_000)],
        );
        spend(
            &mut b,
            5,
            &[inp(4, 0, "r2", 97_800)],
            &[out("s3", 1_000), out("r3", 96_700)],
        );
        spend(
            &mut b,
            6,
            &[inp(5, 0, "s3", 1_000)],
            &[out("q", 400), out("q2", 500)],
        );
        let l = b.finish();
        let t = typology(&l);
        assert_eq!(
            t.pattern,
            vec![
                "",
                "coinjoin:equal-output",
                "peel_chain",
                "peel_chain",
                "peel_chain",
                ""
            ]
        );
        assert_eq!(t.peel_run, vec![0, 0, 3, 3, 3, 1]);
        assert_eq!(t.score[1], 3.0 - 1.0 / 3.0);
        assert_eq!(t.score[2], 2.0 - 1.0 / 3.0);
        assert_eq!((t.score[0], t.score[5]), (0.0, 0.0));
        assert_eq!(build(&l).typology, t);
    }
}
