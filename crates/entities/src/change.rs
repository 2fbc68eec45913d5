//! Change heuristics: which output of a transaction returns money to the spender.
//!
//! As in BlockSci, every heuristic returns the outputs it cannot rule out as change (a
//! candidate set, never OP_RETURN); a list of heuristics combines their sets (by default
//! the intersection: all must agree), and a transaction has a change output only when
//! exactly one candidate is left (BlockSci's `unique_change`). The names:
//!
//! | name | candidates |
//! |---|---|
//! | `optimal` | outputs smaller than the smallest input (a larger change would have made that input unnecessary) |
//! | `address-type` | when all inputs are of one script type, the outputs of that type |
//! | `address-reuse` | outputs paying one of the input addresses |
//! | `fresh-address` (`client-behaviour`) | outputs whose address appears for the first time |
//! | `power-of-ten[:D]` | outputs whose value is not a multiple of 10^D satoshi (D = 6 by default: payments are round, change is not) |
//! | `locktime` | outputs unspent, or spent by a transaction that agrees with this one on a non-zero nLockTime |
//! | `peeling-chain` | in a peeling chain (1 input, 2 outputs, next to another such transaction), the outputs unspent or spent by a peeling-chain-like transaction |
//! | `one-time` | GraphSense's one-time change: the one output to a fresh address when all others pay addresses seen before and none pays an input address; with a confidence |
//! | `legacy` | BlockSci's legacy rule: the one output to a fresh address smaller than every input, in a transaction that is not a CoinJoin and has two spendable outputs or more |
//! | `spent` | outputs spent in the lake (to combine with the spend-based rules) |
//! | `none` | nothing |
//!
//! `locktime`, `peeling-chain` and `spent` look at later transactions (who spent an output):
//! their answer for a transaction can change when blocks arrive; the incremental build
//! tracks those decisions (see [`Heuristic::looks_ahead`]).
//!
//! The confidence of a change pick is 1 for the yes/no rules; `one-time` scores its pick
//! by how many of four independent signals agree with it (same script type as all the
//! inputs, smaller than every input, not round while another output is round, the only
//! output of its script type): (1 + agreeing) / 5.

use crate::ledger::{Ledger, NONE};

/// One change heuristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Heuristic {
    /// Smaller than the smallest input.
    Optimal,
    /// The inputs' one script type.
    AddressType,
    /// Pays an input address.
    AddressReuse,
    /// First appearance of the address.
    FreshAddress,
    /// Not a multiple of 10^digits.
    PowerOfTen(u8),
    /// nLockTime behaviour of the spender.
    Locktime,
    /// Peeling chains.
    PeelingChain,
    /// GraphSense's one-time change.
    OneTime,
    /// BlockSci's legacy heuristic.
    Legacy,
    /// Spent outputs.
    Spent,
    /// No change.
    None,
}

impl Heuristic {
    /// The names `--change` accepts (aliases after the canonical ones).
    pub const NAMES: &'static [&'static str] = &[
        "optimal",
        "address-type",
        "address-reuse",
        "fresh-address",
        "power-of-ten[:D]",
        "locktime",
        "peeling-chain",
        "one-time",
        "legacy",
        "spent",
        "none",
    ];

    /// Parses one name.
    pub fn parse(s: &str) -> Result<Heuristic, String> {
        let s = s.trim();
        if let Some(d) = s.strip_prefix("power-of-ten") {
            let digits = match d.strip_prefix(':').or_else(|| d.strip_prefix('=')) {
                None if d.is_empty() => 6,
                Some(n) => n
                    .parse::<u8>()
                    .ok()
                    .filter(|n| (1..=18).contains(n))
                    .ok_or_else(|| format!("power-of-ten:{n}: the digits must be 1 to 18"))?,
                None => return Err(format!("unknown change heuristic {s:?}")),
            };
            return Ok(Heuristic::PowerOfTen(digits));
        }
        Ok(match s {
            "optimal" | "optimal-change" => Heuristic::Optimal,
            "address-type" => Heuristic::AddressType,
            "address-reuse" | "reuse" => Heuristic::AddressReuse,
            "fresh-address" | "client-behaviour" | "client-behavior" | "fresh" => {
                Heuristic::FreshAddress
            }
            "locktime" => Heuristic::Locktime,
            "peeling-chain" | "peeling" => Heuristic::PeelingChain,
            "one-time" | "one-time-change" => Heuristic::OneTime,
            "legacy" => Heuristic::Legacy,
            "spent" => Heuristic::Spent,
            "none" => Heuristic::None,
            _ => {
                return Err(format!(
                    "unknown change heuristic {s:?} (known: {})",
                    Heuristic::NAMES.join(", ")
                ))
            }
        })
    }

    /// The canonical name.
    pub fn name(self) -> String {
        match self {
            Heuristic::Optimal => "optimal".into(),
            Heuristic::AddressType => "address-type".into(),
            Heuristic::AddressReuse => "address-reuse".into(),
            Heuristic::FreshAddress => "fresh-address".into(),
            Heuristic::PowerOfTen(6) => "power-of-ten".into(),
            Heuristic::PowerOfTen(d) => format!("power-of-ten:{d}"),
            Heuristic::Locktime => "locktime".into(),
            Heuristic::PeelingChain => "peeling-chain".into(),
            Heuristic::OneTime => "one-time".into(),
            Heuristic::Legacy => "legacy".into(),
            Heuristic::Spent => "spent".into(),
            Heuristic::None => "none".into(),
        }
    }

    /// Whether the answer depends on who spends the outputs later.
    pub fn looks_ahead(self) -> bool {
        matches!(
            self,
            Heuristic::Locktime | Heuristic::PeelingChain | Heuristic::Spent
        )
    }

    /// The positions of the outputs of transaction `t` this heuristic keeps as change
    /// candidates, ascending.
    pub fn candidates(self, l: &Ledger, t: u32) -> Vec<u32> {
        let tx = &l.txs[t as usize];
        if tx.coinbase {
            return Vec::new();
        }
        let ins = l.inputs_of(t);
        let outs = l.outputs_of(t);
        let keep = |f: &dyn Fn(usize) -> bool| -> Vec<u32> {
            (0..outs.len())
                .filter(|&i| outs[i].spendable() && f(i))
                .map(|i| i as u32)
                .collect()
        };
        match self {
            Heuristic::None => Vec::new(),
            Heuristic::Optimal => {
                let Some(min) = ins.iter().map(|i| i.value).min() else {
                    return Vec::new();
                };
                keep(&|i| outs[i].value < min)
            }
            Heuristic::AddressType => {
                let Some(first) = ins.first().map(|i| i.kind) else {
                    return Vec::new();
                };
                if ins.iter().any(|i| i.kind != first) {
                    return Vec::new();
                }
                keep(&|i| outs[i].kind == first)
            }
            Heuristic::AddressReuse => {
                keep(&|i| ins.iter().any(|x| x.addr != NONE && x.addr == outs[i].addr))
            }
            Heuristic::FreshAddress => keep(&|i| fresh(l, t, outs[i].addr)),
            Heuristic::PowerOfTen(d) => {
                let m = 10i64.pow(d as u32);
                keep(&|i| outs[i].value % m != 0)
            }
            Heuristic::Locktime => {
                let positive = tx.lock_time > 0;
                keep(&|i| {
                    let s = outs[i].spent_by;
                    s == NONE || (l.txs[s as usize].lock_time > 0) == positive
                })
            }
            Heuristic::PeelingChain => {
                if !is_peeling_chain(l, t) {
                    return Vec::new();
                }
                keep(&|i| {
                    let s = outs[i].spent_by;
                    s == NONE || is_peeling_chain(l, s)
                })
            }
            Heuristic::Spent => keep(&|i| outs[i].spent_by != NONE),
            Heuristic::OneTime => one_time(l, t).map(|(i, _)| vec![i]).unwrap_or_default(),
            Heuristic::Legacy => legacy(l, t).map(|i| vec![i]).unwrap_or_default(),
        }
    }
}

/// Whether `addr` first appears in transaction `t`.
fn fresh(l: &Ledger, t: u32, addr: u32) -> bool {
    addr != NONE && l.book.first_tx[addr as usize] == t
}

/// The shape of a peeling-chain step: 1 input, 2 outputs, not a coinbase.
pub fn looks_like_peeling_chain(l: &Ledger, t: u32) -> bool {
    let tx = &l.txs[t as usize];
    !tx.coinbase && tx.in_end - tx.in_start == 1 && tx.out_end - tx.out_start == 2
}

/// BlockSci's peeling chain: 1 input and 2 outputs, and the spent transaction or one of
/// the spending ones looks the same.
pub fn is_peeling_chain(l: &Ledger, t: u32) -> bool {
    if !looks_like_peeling_chain(l, t) {
        return false;
    }
    let prev = l.inputs_of(t)[0].spent_tx;
    if prev != NONE && looks_like_peeling_chain(l, prev) {
        return true;
    }
    l.outputs_of(t)
        .iter()
        .any(|o| o.spent_by != NONE && looks_like_peeling_chain(l, o.spent_by))
}

fn legacy(l: &Ledger, t: u32) -> Option<u32> {
    if blocksci_coinjoin(l, t) {
        return None;
    }
    let min = l
        .inputs_of(t)
        .iter()
        .map(|i| i.value)
        .min()
        .unwrap_or(i64::MAX);
    let mut spendable = 0;
    let mut change = None;
    for (i, o) in l.outputs_of(t).iter().enumerate() {
        if !o.spendable() {
            continue;
        }
        spendable += 1;
        if o.value < min && fresh(l, t, o.addr) {
            if change.is_some() {
                return None;
            }
            change = Some(i as u32);
        }
    }
    if spendable > 1 {
        change
    } else {
        None
    }
}

/// BlockSci's `isCoinjoin` alone (the legacy rule refers to it, whichever rule
/// [`coinjoin::detect`] reports first).
pub fn blocksci_coinjoin(l: &Ledger, t: u32) -> bool {
    let ins = l.inputs_of(t);
    let outs = l.outputs_of(t);
    if ins.len() < 2 || outs.len() < 3 {
        return false;
    }
    let p = outs.len().div_ceil(2);
    let mut addrs: Vec<u32> = ins.iter().map(|i| i.addr).collect();
    addrs.sort_unstable();
    addrs.dedup();
    if p > ins.len() || p > addrs.len() {
        return false;
    }
    let mut values: Vec<i64> = outs.iter().map(|o| o.value).collect();
    values.sort_unstable();
    let (mut best, mut best_v, mut run) = (0usize, 0i64, 0usize);
    for (k, v) in values.iter().enumerate() {
        run = if k > 0 && values[k - 1] == *v {
            run + 1
        } else {
            1
        };
        if run > best {
            best = run;
            best_v = *v;
        }
    }
    best == p && best_v != 546 && best_v != 2730
}

/// GraphSense's one-time change with its confidence: `(position, confidence)`.
pub fn one_time(l: &Ledger, t: u32) -> Option<(u32, f64)> {
    let tx = &l.txs[t as usize];
    if tx.coinbase {
        return None;
    }
    let ins = l.inputs_of(t);
    let outs = l.outputs_of(t);
    let spendable: Vec<usize> = (0..outs.len()).filter(|&i| outs[i].spendable()).collect();
    if spendable.len() < 2 {
        return None;
    }
    let fresh_outs: Vec<usize> = spendable
        .iter()
        .copied()
        .filter(|&i| fresh(l, t, outs[i].addr))
        .collect();
    if fresh_outs.len() != 1 {
        return None;
    }
    let c = fresh_outs[0];
    if ins.iter().any(|i| i.addr == outs[c].addr) {
        return None;
    }
    let mut agree = 0u32;
    if let Some(first) = ins.first().map(|i| i.kind) {
        if ins.iter().all(|i| i.kind == first) && outs[c].kind == first {
            agree += 1;
        }
    }
    if ins.iter().all(|i| outs[c].value < i.value) {
        agree += 1;
    }
    let round = |v: i64| v % 100_000 == 0;
    if !round(outs[c].value) && spendable.iter().any(|&i| i != c && round(outs[i].value)) {
        agree += 1;
    }
    if spendable
        .iter()
        .all(|&i| i == c || outs[i].kind != outs[c].kind)
    {
        agree += 1;
    }
    Some((c as u32, f64::from(1 + agree) / 5.0))
}

/// How a list of heuristics combines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Combine {
    /// Candidates all heuristics keep.
    #[default]
    All,
    /// Candidates any heuristic keeps.
    Any,
}

/// A `--change` selection: heuristics and how they combine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeSpec {
    /// The heuristics (empty: no change clustering).
    pub heuristics: Vec<Heuristic>,
    /// Intersection or union.
    pub combine: Combine,
}

/// A change output picked for a transaction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePick {
    /// Its position.
    pub position: u32,
    /// Its confidence in (0, 1].
    pub confidence: f64,
}

impl ChangeSpec {
    /// Parses `optimal,address-type,...` (`none` or empty: no heuristic).
    pub fn parse(list: &str, combine: Combine) -> Result<ChangeSpec, String> {
        let mut heuristics = Vec::new();
        for part in list.split(',').filter(|p| !p.trim().is_empty()) {
            let h = Heuristic::parse(part)?;
            if h != Heuristic::None && !heuristics.contains(&h) {
                heuristics.push(h);
            }
        }
        Ok(ChangeSpec {
            heuristics,
            combine,
        })
    }

    /// Whether any heuristic is selected.
    pub fn is_empty(&self) -> bool {
        self.heuristics.is_empty()
    }

    /// Whether any selected heuristic looks at later spends.
    pub fn looks_ahead(&self) -> bool {
        self.heuristics.iter().any(|h| h.looks_ahead())
    }

    /// The canonical text (`optimal+address-type`, `|` between names for `any`).
    pub fn describe(&self) -> String {
        let sep = match self.combine {
            Combine::All => "+",
            Combine::Any => "|",
        };
        let names: Vec<String> = self.heuristics.iter().map(|h| h.name()).collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(sep)
        }
    }

    /// The combined candidate set of transaction `t`.
    pub fn candidates(&self, l: &Ledger, t: u32) -> Vec<u32> {
        let mut it = self.heuristics.iter();
        let Some(first) = it.next() else {
            return Vec::new();
        };
        let mut set = first.candidates(l, t);
        for h in it {
            let other = h.candidates(l, t);
            set = match self.combine {
                Combine::All => set.into_iter().filter(|x| other.contains(x)).collect(),
                Combine::Any => {
                    let mut u = set;
                    u.extend(other);
                    u.sort_unstable();
                    u.dedup();
                    u
                }
            };
        }
        set
    }

    /// The unique change output of transaction `t`, if the combination leaves exactly one.
    pub fn unique(&self, l: &Ledger, t: u32) -> Option<ChangePick> {
        let c = self.candidates(l, t);
        if c.len() != 1 {
            return None;
        }
        let confidence = if self.heuristics.contains(&Heuristic::OneTime) {
            one_time(l, t).map(|(_, conf)| conf).unwrap_or(1.0)
        } else {
            1.0
        };
        Some(ChangePick {
            position: c[0],
            confidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        let s = ChangeSpec::parse(
            "optimal,address-type,power-of-ten:5,client-behaviour",
            Combine::All,
        )
        .unwrap();
        assert_eq!(
            s.describe(),
            "optimal+address-type+power-of-ten:5+fresh-address"
        );
        assert!(ChangeSpec::parse("nope", Combine::All).is_err());
        assert!(ChangeSpec::parse("power-of-ten:0", Combine::All).is_err());
        assert!(ChangeSpec::parse("none", Combine::All).unwrap().is_empty());
    }
}
