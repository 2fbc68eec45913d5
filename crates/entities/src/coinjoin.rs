//! CoinJoin detection: transactions whose inputs belong to several people, so the
//! multi-input heuristic must not merge them.
//!
//! Each rule looks only at the transaction itself (values, input addresses, counts), so a
//! detection never changes when more blocks arrive. The rules are checked in the order of
//! [`Rule::ALL`] and the first that fires is reported:
//!
//! * `whirlpool` (Samourai Whirlpool mixes): 5 inputs and 5 outputs (later pools 5–8 of
//!   each, inputs equal to outputs in count), every output of one pool denomination
//!   (50 000, 100 000, 1 000 000, 5 000 000 or 50 000 000 sat), every input between the
//!   denomination and the denomination plus 0.0011 coin of mining fee.
//! * `wasabi2` (WabiSabi rounds): at least 50 inputs and 50 outputs, at least half of the
//!   outputs at Wasabi 2's standard denominations (powers of two, 3 × powers of two, and
//!   1, 2, 5 × powers of ten, from 5 000 sat), and at least two denominations repeated.
//! * `wasabi1` (Wasabi 1.x ZeroLink rounds): the most repeated output value lies within
//!   0.1 coin ± 0.02 (the base denomination) and repeats at least 5 times, with at least
//!   as many inputs; mixing levels above it (2×, 4×, …) may repeat too.
//! * `equal-output` (BlockSci's `isCoinjoin`): at least 2 inputs and 3 outputs; with
//!   p = ⌈outputs / 2⌉ participants, at least p inputs and p distinct input addresses, and
//!   the most repeated output value repeats exactly p times and is not dust (546 or 2730).
//! * `joinmarket` (JoinMarket, after Möser and Böhme): the most repeated value repeats
//!   n ≥ 3 times (it is not dust); besides those, n − 1 or n change outputs (every maker
//!   gets change, the taker may sweep); at least n distinct input addresses; no output
//!   pays an input address. Where BlockSci's count is exact, this one accepts change
//!   values that repeat.

use rustc_hash::FxHashMap;

use crate::ledger::{Ledger, NONE};

/// A CoinJoin rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Samourai Whirlpool.
    Whirlpool,
    /// Wasabi 2.0 (WabiSabi).
    Wasabi2,
    /// Wasabi 1.x (ZeroLink).
    Wasabi1,
    /// JoinMarket.
    JoinMarket,
    /// BlockSci's equal-output rule.
    EqualOutput,
}

impl Rule {
    /// The rules in the order they are checked.
    pub const ALL: [Rule; 5] = [
        Rule::Whirlpool,
        Rule::Wasabi2,
        Rule::Wasabi1,
        Rule::EqualOutput,
        Rule::JoinMarket,
    ];

    /// The rule's name in tables and flags.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Whirlpool => "whirlpool",
            Rule::Wasabi2 => "wasabi2",
            Rule::Wasabi1 => "wasabi1",
            Rule::JoinMarket => "joinmarket",
            Rule::EqualOutput => "equal-output",
        }
    }
}

/// What was found about a transaction's outputs: the most repeated value and its count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    /// The rule that fired.
    pub rule: Rule,
    /// The most repeated output value.
    pub equal_value: i64,
    /// How often it repeats.
    pub equal_count: u32,
}

const COIN: i64 = 100_000_000;
const WHIRLPOOL_POOLS: [i64; 5] = [50_000, 100_000, 1_000_000, 5_000_000, 50_000_000];
const WHIRLPOOL_MAX_FEE: i64 = 110_000;

/// The first rule that fires on transaction `t`, if any (coinbase never).
pub fn detect(l: &Ledger, t: u32) -> Option<Detection> {
    let tx = &l.txs[t as usize];
    if tx.coinbase {
        return None;
    }
    let ins = l.inputs_of(t);
    let outs = l.outputs_of(t);
    if ins.len() < 2 || outs.len() < 2 {
        return None;
    }
    // The most repeated value (ties: the larger value, so the answer does not depend on
    // hash order).
    let mut counts: FxHashMap<i64, u32> = FxHashMap::default();
    for o in outs {
        *counts.entry(o.value).or_default() += 1;
    }
    let (&equal_value, &equal_count) = counts
        .iter()
        .max_by_key(|(v, c)| (**c, **v))
        .expect("at least two outputs");
    let mut in_addrs: Vec<u32> = ins.iter().map(|i| i.addr).filter(|&a| a != NONE).collect();
    in_addrs.sort_unstable();
    in_addrs.dedup();
    let distinct_in = in_addrs.len();
    let found = |rule| {
        Some(Detection {
            rule,
            equal_value,
            equal_count,
        })
    };

    // Whirlpool
    if (5..=8).contains(&outs.len())
        && ins.len() == outs.len()
        && WHIRLPOOL_POOLS.contains(&equal_value)
        && equal_count as usize == outs.len()
        && ins
            .iter()
            .all(|i| i.value >= equal_value && i.value <= equal_value + WHIRLPOOL_MAX_FEE)
    {
        return found(Rule::Whirlpool);
    }

    // Wasabi 2.0
    if ins.len() >= 50 && outs.len() >= 50 {
        let standard = outs
            .iter()
            .filter(|o| is_wasabi2_denomination(o.value))
            .count();
        let repeated = counts
            .iter()
            .filter(|(v, c)| **c >= 2 && is_wasabi2_denomination(**v))
            .count();
        if standard * 2 >= outs.len() && repeated >= 2 {
            return found(Rule::Wasabi2);
        }
    }

    // Wasabi 1.x
    if equal_count >= 5
        && ins.len() >= equal_count as usize
        && (COIN / 10 - COIN / 50..=COIN / 10 + COIN / 50).contains(&equal_value)
    {
        return found(Rule::Wasabi1);
    }

    let dust = equal_value == 546 || equal_value == 2730;

    // BlockSci's equal-output rule
    if outs.len() >= 3 {
        let p = outs.len().div_ceil(2);
        if p <= ins.len() && p <= distinct_in && equal_count as usize == p && !dust {
            return found(Rule::EqualOutput);
        }
    }

    // JoinMarket
    let n = equal_count as usize;
    if n >= 3
        && !dust
        && outs.len() > 2 * n - 2
        && outs.len() <= 2 * n
        && distinct_in >= n
        && !outs
            .iter()
            .any(|o| o.addr != NONE && in_addrs.binary_search(&o.addr).is_ok())
    {
        return found(Rule::JoinMarket);
    }

    None
}

/// Whether `v` is one of Wasabi 2's standard denominations: 2^k, 3·2^k, 10^k, 2·10^k or
/// 5·10^k satoshi, at least 5 000.
pub fn is_wasabi2_denomination(v: i64) -> bool {
    if v < 5_000 {
        return false;
    }
    let pow2 = |x: i64| x > 0 && (x & (x - 1)) == 0;
    if pow2(v) || (v % 3 == 0 && pow2(v / 3)) {
        return true;
    }
    let mut x = v;
    while x % 10 == 0 {
        x /= 10;
    }
    matches!(x, 1 | 2 | 5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testing::{h, inp, out};
    use crate::ledger::{LedgerBuilder, OutputSpec};

    /// A ledger with one funding transaction per input value (to its own address) and a
    /// transaction spending them all into `outs`.
    fn tx(in_values: &[i64], in_addrs: &[&str], outs: &[(i64, &str)]) -> (Ledger, u32) {
        let mut b = LedgerBuilder::new();
        let mut ins = Vec::new();
        for (k, (v, a)) in in_values.iter().zip(in_addrs).enumerate() {
            b.push(
                &h(k as u32 + 1),
                1,
                0,
                k as i64,
                0,
                false,
                &[],
                &[out(a, *v)],
            )
            .unwrap();
            ins.push(inp(k as u32 + 1, 0, a, *v));
        }
        let outs: Vec<OutputSpec> = outs.iter().map(|(v, a)| out(a, *v)).collect();
        let t = b.push(&h(999), 2, 0, 0, 0, false, &ins, &outs).unwrap();
        (b.finish(), t)
    }

    #[test]
    fn whirlpool_mix() {
        let (l, t) = tx(
            &[1_000_170, 1_000_000, 1_000_000, 1_050_000, 1_000_000],
            &["a", "b", "c", "d", "e"],
            &[
                (1_000_000, "p"),
                (1_000_000, "q"),
                (1_000_000, "r"),
                (1_000_000, "s"),
                (1_000_000, "t"),
            ],
        );
        assert_eq!(detect(&l, t).unwrap().rule, Rule::Whirlpool);
    }

    #[test]
    fn equal_output_three_participants() {
        let (l, t) = tx(
            &[50, 60, 70],
            &["a", "b", "c"],
            &[(30, "p"), (20, "q"), (30, "r"), (30, "s"), (40, "t")],
        );
        let d = detect(&l, t).unwrap();
        // 5 outputs, p = 3, value 30 three times: BlockSci's rule.
        assert_eq!(d.rule, Rule::EqualOutput);
        assert_eq!((d.equal_value, d.equal_count), (30, 3));
    }

    #[test]
    fn ordinary_payment_is_not_a_coinjoin() {
        let (l, t) = tx(&[50, 60], &["a", "b"], &[(100, "p"), (9, "q")]);
        assert!(detect(&l, t).is_none());
        // a consolidation with a reused change address
        let (l, t) = tx(
            &[50, 60, 70],
            &["a", "a", "a"],
            &[(30, "p"), (30, "q"), (30, "a")],
        );
        assert!(detect(&l, t).is_none());
    }

    #[test]
    fn dust_is_not_a_coinjoin() {
        let (l, t) = tx(
            &[5000, 6000, 7000],
            &["a", "b", "c"],
            &[(546, "p"), (546, "q"), (546, "r"), (100, "s")],
        );
        assert!(detect(&l, t).is_none());
    }

    #[test]
    fn wasabi2_denominations() {
        assert!(is_wasabi2_denomination(5_000));
        assert!(is_wasabi2_denomination(8_192));
        assert!(is_wasabi2_denomination(6_144)); // 3 * 2048
        assert!(is_wasabi2_denomination(200_000));
        assert!(!is_wasabi2_denomination(123_456));
        assert!(!is_wasabi2_denomination(4_096));
    }
}
