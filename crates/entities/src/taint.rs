//! Taint: how the value of seed outputs disperses forward through the spend graph.
//!
//! Transactions are processed in chain order (inside a block, spent before spender, so a
//! Bitcoin Cash block's txid order is handled); a transaction with a tainted input passes
//! taint to its outputs by the model:
//!
//! * `poison`: every output of the transaction is fully tainted.
//! * `haircut`: the transaction's taint is spread over its value: each output gets
//!   `taint × value / input value` (the fee takes its share, lost to the miner), in exact
//!   integers: floors, then the remaining base units to the largest remainders.
//! * `fifo`: the inputs' value is laid out in input order, each input's own tainted and
//!   clean stretches kept in order; the outputs take it in output order, the fee takes the
//!   rest.
//! * `lifo`: as `fifo` with the inputs taken last first.
//! * `tiho` (taint in, highest out): the taint (less the fee's share) fills the largest
//!   outputs first.
//!
//! With `no_fee`, fees carry no taint: the fee is paid from clean value where there is
//! some (`fifo`, `lifo`: from the clean stretches at the end of the stream), and the
//! whole taint goes to the outputs (`haircut`: shares of the output value; `tiho`: all of
//! it). Taint below `min_value` in an output is cut off (dropped and counted). Taint
//! never exceeds an output's value, and `haircut`, `fifo`, `lifo` and `tiho` conserve
//! it: seed value = taint unspent at the height bound + taint paid as fees + cut off.
//!
//! Several seed families are tracked at once, independently.

use rustc_hash::FxHashMap;

use crate::ledger::{Ledger, NONE};

/// A taint model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// All outputs fully tainted.
    Poison,
    /// Proportional.
    Haircut,
    /// First in, first out.
    Fifo,
    /// Last in, first out.
    Lifo,
    /// Taint in, highest out.
    Tiho,
}

impl Model {
    /// Parses a model name.
    pub fn parse(s: &str) -> Result<Model, String> {
        Ok(match s {
            "poison" => Model::Poison,
            "haircut" => Model::Haircut,
            "fifo" => Model::Fifo,
            "lifo" => Model::Lifo,
            "tiho" => Model::Tiho,
            _ => {
                return Err(format!(
                    "unknown taint model {s:?} (poison, haircut, fifo, lifo, tiho)"
                ))
            }
        })
    }

    /// The model's name.
    pub fn name(self) -> &'static str {
        match self {
            Model::Poison => "poison",
            Model::Haircut => "haircut",
            Model::Fifo => "fifo",
            Model::Lifo => "lifo",
            Model::Tiho => "tiho",
        }
    }

    fn ordered(self) -> bool {
        matches!(self, Model::Fifo | Model::Lifo)
    }
}

/// Taint settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaintOptions {
    /// The model.
    pub model: Model,
    /// Process blocks up to this height (None: all).
    pub max_height: Option<i64>,
    /// Taint below this (base units) is dropped from an output.
    pub min_value: u64,
    /// Fees carry no taint.
    pub no_fee: bool,
}

/// The taint of one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTaint {
    /// Tainted base units.
    pub amount: u64,
    /// Transactions from the nearest seed (0: a seed).
    pub hops: u32,
    /// `fifo`/`lifo`: the output's value as (length, tainted) stretches in order.
    pub stretches: Vec<(u64, bool)>,
}

/// The result of one seed family.
#[derive(Debug, Clone, Default)]
pub struct FamilyResult {
    /// Tainted outputs (global output index → taint), seeds included.
    pub outputs: FxHashMap<u32, OutputTaint>,
    /// Seed value.
    pub seed_value: u64,
    /// Taint paid as fees.
    pub fee_taint: u64,
    /// Taint dropped under `min_value`.
    pub cut_off: u64,
}

/// Global output index of output `pos` of transaction `t`.
pub fn output_index(l: &Ledger, t: u32, pos: u32) -> Option<u32> {
    let tx = &l.txs[t as usize];
    let g = tx.out_start + pos;
    (g < tx.out_end).then_some(g)
}

/// The transaction that created global output `o` and its position.
pub fn output_owner(l: &Ledger, o: u32) -> (u32, u32) {
    let t = l.txs.partition_point(|x| x.out_end <= o) as u32;
    (t, o - l.txs[t as usize].out_start)
}

/// Transactions in processing order: chain order, but inside a block every transaction
/// after the ones it spends from.
pub fn processing_order(l: &Ledger) -> Vec<u32> {
    let mut order = Vec::with_capacity(l.txs.len());
    let mut start = 0usize;
    while start < l.txs.len() {
        let h = l.txs[start].height;
        let mut end = start;
        while end < l.txs.len() && l.txs[end].height == h {
            end += 1;
        }
        let block = start as u32..end as u32;
        let forward = block.clone().any(|t| {
            l.inputs_of(t)
                .iter()
                .any(|i| i.spent_tx != NONE && i.spent_tx > t && block.contains(&i.spent_tx))
        });
        if !forward {
            order.extend(block);
        } else {
            // depth-first: a transaction after the block's transactions it spends from
            let mut state = vec![0u8; end - start];
            for t in block.clone() {
                let mut stack = vec![(t, false)];
                while let Some((x, expanded)) = stack.pop() {
                    let k = (x - start as u32) as usize;
                    if expanded {
                        if state[k] != 2 {
                            state[k] = 2;
                            order.push(x);
                        }
                        continue;
                    }
                    if state[k] != 0 {
                        continue;
                    }
                    state[k] = 1;
                    stack.push((x, true));
                    for i in l.inputs_of(x) {
                        if block.contains(&i.spent_tx) {
                            let kk = (i.spent_tx - start as u32) as usize;
                            if state[kk] == 0 {
                                stack.push((i.spent_tx, false));
                            }
                        }
                    }
                }
            }
        }
        start = end;
    }
    order
}

fn push(st: &mut Vec<(u64, bool)>, len: u64, tainted: bool) {
    if len == 0 {
        return;
    }
    if let Some(last) = st.last_mut() {
        if last.1 == tainted {
            last.0 += len;
            return;
        }
    }
    st.push((len, tainted));
}

/// Takes `len` units from the front of `stream` (position `pos` into it).
fn take(stream: &[(u64, bool)], pos: &mut (usize, u64), len: u64) -> Vec<(u64, bool)> {
    let mut out = Vec::new();
    let mut need = len;
    while need > 0 && pos.0 < stream.len() {
        let (l, t) = stream[pos.0];
        let avail = l - pos.1;
        let n = avail.min(need);
        push(&mut out, n, t);
        need -= n;
        pos.1 += n;
        if pos.1 == l {
            pos.0 += 1;
            pos.1 = 0;
        }
    }
    out
}

/// Removes `fee` units of clean value from the stream, from the end; then tainted ones
/// if clean value does not suffice. Returns the tainted units removed.
fn pay_fee_clean(stream: &mut Vec<(u64, bool)>, fee: u64) -> u64 {
    let mut need = fee;
    for s in stream.iter_mut().rev() {
        if need == 0 {
            break;
        }
        if !s.1 {
            let n = s.0.min(need);
            s.0 -= n;
            need -= n;
        }
    }
    let mut tainted = 0;
    for s in stream.iter_mut().rev() {
        if need == 0 {
            break;
        }
        if s.1 {
            let n = s.0.min(need);
            s.0 -= n;
            need -= n;
            tainted += n;
        }
    }
    stream.retain(|s| s.0 > 0);
    tainted
}

/// Splits `total` over `weights` in proportion (`total × w / denom`, floors), then the
/// `target − Σ floors` remaining units one each to the largest remainders (ties: the
/// earlier position), never above `cap`.
fn proportional(total: u64, weights: &[u64], denom: u64, target: u64, cap: &[u64]) -> Vec<u64> {
    if denom == 0 {
        return vec![0; weights.len()];
    }
    let mut out: Vec<u64> = Vec::with_capacity(weights.len());
    let mut rem: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let p = total as u128 * w as u128;
        let q = (p / denom as u128) as u64;
        out.push(q.min(cap[i]));
        rem.push((p % denom as u128, i));
    }
    let mut left = target.saturating_sub(out.iter().sum());
    rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rem {
        if left == 0 {
            break;
        }
        if out[i] < cap[i] {
            out[i] += 1;
            left -= 1;
        }
    }
    out
}

struct InTaint {
    value: u64,
    amount: u64,
    hops: u32,
    stretches: Vec<(u64, bool)>,
}

/// The taint each output of a transaction gets, and the fee's taint.
fn spread(
    model: Model,
    no_fee: bool,
    ins: &[InTaint],
    out_values: &[u64],
) -> (Vec<OutputTaint>, u64) {
    let total_in: u64 = ins.iter().map(|i| i.value).sum();
    let total_out: u64 = out_values.iter().sum();
    let fee = total_in.saturating_sub(total_out);
    let taint: u64 = ins.iter().map(|i| i.amount).sum();
    let hops = ins
        .iter()
        .filter(|i| i.amount > 0)
        .map(|i| i.hops + 1)
        .min()
        .unwrap_or(1);
    let plain = |amounts: Vec<u64>| -> Vec<OutputTaint> {
        amounts
            .into_iter()
            .map(|a| OutputTaint {
                amount: a,
                hops,
                stretches: Vec::new(),
            })
            .collect()
    };
    match model {
        Model::Poison => (plain(out_values.to_vec()), if taint > 0 { fee } else { 0 }),
        Model::Haircut => {
            let (denom, target) = if no_fee {
                (total_out, taint.min(total_out))
            } else {
                (
                    total_in,
                    (taint as u128 * total_out as u128 / total_in.max(1) as u128) as u64,
                )
            };
            let a = proportional(taint, out_values, denom, target, out_values);
            let given: u64 = a.iter().sum();
            (plain(a), taint - given)
        }
        Model::Tiho => {
            let to_outputs = if no_fee {
                taint.min(total_out)
            } else {
                taint - (taint as u128 * fee as u128 / total_in.max(1) as u128) as u64
            }
            .min(total_out);
            let mut idx: Vec<usize> = (0..out_values.len()).collect();
            idx.sort_by(|&a, &b| out_values[b].cmp(&out_values[a]).then(a.cmp(&b)));
            let mut a = vec![0u64; out_values.len()];
            let mut left = to_outputs;
            for i in idx {
                let n = out_values[i].min(left);
                a[i] = n;
                left -= n;
            }
            (plain(a), taint - to_outputs)
        }
        Model::Fifo | Model::Lifo => {
            let mut stream: Vec<(u64, bool)> = Vec::new();
            let order: Vec<&InTaint> = if model == Model::Fifo {
                ins.iter().collect()
            } else {
                ins.iter().rev().collect()
            };
            for i in order {
                if i.stretches.is_empty() {
                    push(&mut stream, i.value - i.amount.min(i.value), false);
                    push(&mut stream, i.amount.min(i.value), true);
                } else {
                    for &(l, t) in &i.stretches {
                        push(&mut stream, l, t);
                    }
                }
            }
            let mut fee_taint = 0;
            if no_fee {
                fee_taint = pay_fee_clean(&mut stream, fee);
            }
            let mut pos = (0usize, 0u64);
            let mut outs = Vec::with_capacity(out_values.len());
            for &v in out_values {
                let st = take(&stream, &mut pos, v);
                let amount = st.iter().filter(|s| s.1).map(|s| s.0).sum();
                outs.push(OutputTaint {
                    amount,
                    hops,
                    stretches: st,
                });
            }
            if !no_fee {
                let rest = take(&stream, &mut pos, u64::MAX);
                fee_taint = rest.iter().filter(|s| s.1).map(|s| s.0).sum();
            }
            (outs, fee_taint)
        }
    }
}

/// Propagates each family's seeds (global output indexes) forward.
pub fn propagate(l: &Ledger, seeds: &[Vec<u32>], o: &TaintOptions) -> Vec<FamilyResult> {
    let mut fams: Vec<FamilyResult> = seeds
        .iter()
        .map(|s| {
            let mut f = FamilyResult::default();
            for &g in s {
                let v = l.outputs[g as usize].value.max(0) as u64;
                if f.outputs.contains_key(&g) {
                    continue;
                }
                f.seed_value += v;
                f.outputs.insert(
                    g,
                    OutputTaint {
                        amount: v,
                        hops: 0,
                        stretches: if o.model.ordered() {
                            vec![(v, true)]
                        } else {
                            Vec::new()
                        },
                    },
                );
            }
            f
        })
        .collect();
    let first_height = seeds
        .iter()
        .flatten()
        .map(|&g| l.txs[output_owner(l, g).0 as usize].height)
        .min();
    let Some(first_height) = first_height else {
        return fams;
    };
    let mut ins: Vec<InTaint> = Vec::new();
    let mut out_values: Vec<u64> = Vec::new();
    for t in processing_order(l) {
        let tx = &l.txs[t as usize];
        if tx.height < first_height || tx.coinbase {
            continue;
        }
        if o.max_height.is_some_and(|m| tx.height > m) {
            continue;
        }
        for f in fams.iter_mut() {
            let inputs = l.inputs_of(t);
            let tainted = inputs.iter().any(|i| {
                i.spent_tx != NONE
                    && output_index(l, i.spent_tx, i.spent_index)
                        .is_some_and(|g| f.outputs.contains_key(&g))
            });
            if !tainted {
                continue;
            }
            ins.clear();
            for i in inputs {
                let g = if i.spent_tx != NONE {
                    output_index(l, i.spent_tx, i.spent_index)
                } else {
                    None
                };
                let v = i.value.max(0) as u64;
                match g.and_then(|g| f.outputs.get(&g)) {
                    Some(ot) => ins.push(InTaint {
                        value: v,
                        amount: ot.amount,
                        hops: ot.hops,
                        stretches: ot.stretches.clone(),
                    }),
                    None => ins.push(InTaint {
                        value: v,
                        amount: 0,
                        hops: 0,
                        stretches: Vec::new(),
                    }),
                }
            }
            out_values.clear();
            out_values.extend(l.outputs_of(t).iter().map(|x| x.value.max(0) as u64));
            let (outs, fee_taint) = spread(o.model, o.no_fee, &ins, &out_values);
            f.fee_taint += fee_taint;
            for (pos, ot) in outs.into_iter().enumerate() {
                if ot.amount == 0 {
                    continue;
                }
                if ot.amount < o.min_value {
                    f.cut_off += ot.amount;
                    continue;
                }
                let g = tx.out_start + pos as u32;
                f.outputs.insert(g, ot);
            }
        }
    }
    fams
}

/// Whether global output `g` is unspent at the height bound.
pub fn unspent_at(l: &Ledger, g: u32, max_height: Option<i64>) -> bool {
    let s = l.outputs[g as usize].spent_by;
    s == NONE || max_height.is_some_and(|m| l.txs[s as usize].height > m)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ledger::testing::{h, inp, out};
    use crate::ledger::LedgerBuilder;

    /// Block 1 funds s (100, the seed) and c (50, clean). Block 2: tx 2 spends s with c
    /// (a seed spent together with clean coins) into x 120 and y 25 (fee 5); tx 3 spends x
    /// in the same block into z 115 (fee 5). Block 3: tx 4 spends y into w 20 (fee 5).
    /// `swap`: tx 3 comes before tx 2 in block 2 (Bitcoin Cash's txid order).
    fn chain(swap: bool) -> Ledger {
        let mut b = LedgerBuilder::new();
        b.push(
            &h(1),
            1,
            0,
            0,
            0,
            false,
            &[],
            &[out("s", 100), out("c", 50)],
        )
        .unwrap();
        let t2 = (
            h(2),
            vec![inp(1, 0, "s", 100), inp(1, 1, "c", 50)],
            vec![out("x", 120), out("y", 25)],
        );
        let t3 = (h(3), vec![inp(2, 0, "x", 120)], vec![out("z", 115)]);
        let block2 = if swap { vec![t3, t2] } else { vec![t2, t3] };
        for (k, (hash, ins, outs)) in block2.into_iter().enumerate() {
            b.push(&hash, 2, 0, k as i64, 0, false, &ins, &outs)
                .unwrap();
        }
        b.push(
            &h(4),
            3,
            0,
            0,
            0,
            false,
            &[inp(2, 1, "y", 25)],
            &[out("w", 20)],
        )
        .unwrap();
        b.finish()
    }

    fn held(l: &Ledger, r: &FamilyResult, addr: &str) -> u64 {
        let a = l.book.id(addr).unwrap();
        r.outputs
            .iter()
            .filter(|(g, _)| l.outputs[**g as usize].addr == a)
            .map(|(_, t)| t.amount)
            .sum()
    }

    #[test]
    fn same_block_spends_and_order() {
        for swap in [false, true] {
            let l = chain(swap);
            let seed = vec![output_index(&l, 0, 0).unwrap()];
            let o = TaintOptions {
                model: Model::Haircut,
                max_height: None,
                min_value: 0,
                no_fee: false,
            };
            let r = &propagate(&l, std::slice::from_ref(&seed), &o)[0];
            // tx 2: 100 of 150 tainted: x 80, y 16 (16.67 → floors 80 + 16 = 96, target
            // floor(100 × 145 / 150) = 96), fee 4
            assert_eq!(held(&l, r, "x"), 80, "swap {swap}");
            assert_eq!(held(&l, r, "y"), 16);
            // tx 3 in the same block: 80 × 115 / 120 = 76.67 → 76, fee 4 (with the
            // remainder: target floor(80 × 115 / 120) = 76)
            assert_eq!(held(&l, r, "z"), 76);
            // tx 4: 16 × 20 / 25 = 12.8 → 12
            assert_eq!(held(&l, r, "w"), 12);
            let unspent: u64 = r
                .outputs
                .iter()
                .filter(|(g, _)| unspent_at(&l, **g, None))
                .map(|(_, t)| t.amount)
                .sum();
            assert_eq!(unspent + r.fee_taint, 100);
            // up to block 2 only: w is not reached, y holds its 16
            let r2 = &propagate(
                &l,
                std::slice::from_ref(&seed),
                &TaintOptions {
                    max_height: Some(2),
                    ..o
                },
            )[0];
            assert_eq!(held(&l, r2, "w"), 0);
            let unspent2: u64 = r2
                .outputs
                .iter()
                .filter(|(g, _)| unspent_at(&l, **g, Some(2)))
                .map(|(_, t)| t.amount)
                .sum();
            assert_eq!(unspent2, 76 + 16);
        }
    }

    #[test]
    fn families_are_independent_and_cut_off_counts() {
        let l = chain(false);
        let s = vec![output_index(&l, 0, 0).unwrap()];
        let c = vec![output_index(&l, 0, 1).unwrap()];
        let o = TaintOptions {
            model: Model::Poison,
            max_height: None,
            min_value: 0,
            no_fee: false,
        };
        let r = propagate(&l, &[s.clone(), c], &o);
        assert_eq!(held(&l, &r[0], "z"), 115);
        assert_eq!(held(&l, &r[1], "z"), 115);
        assert_eq!(held(&l, &r[1], "s"), 0);
        assert_eq!(r[0].seed_value, 100);
        assert_eq!(r[1].seed_value, 50);
        // haircut with a 20-unit floor: y's 16 is cut off, w never tainted
        let r = &propagate(
            &l,
            &[s],
            &TaintOptions {
                model: Model::Haircut,
                min_value: 20,
                ..o
            },
        )[0];
        assert_eq!(held(&l, r, "y"), 0);
        assert_eq!(held(&l, r, "w"), 0);
        assert_eq!(r.cut_off, 16);
    }

    fn i(value: u64, amount: u64) -> InTaint {
        InTaint {
            value,
            amount,
            hops: 0,
            stretches: Vec::new(),
        }
    }

    fn amounts(x: &(Vec<OutputTaint>, u64)) -> (Vec<u64>, u64) {
        (x.0.iter().map(|o| o.amount).collect(), x.1)
    }

    // One tainted input of 60 and a clean one of 40; outputs 70 and 25; fee 5.
    const OUTS: [u64; 2] = [70, 25];

    #[test]
    fn poison_taints_everything() {
        let r = spread(Model::Poison, false, &[i(60, 60), i(40, 0)], &OUTS);
        assert_eq!(amounts(&r), (vec![70, 25], 5));
    }

    #[test]
    fn haircut_by_hand() {
        // 60 % of each output: 42 and 15, 3 to the fee
        let r = spread(Model::Haircut, false, &[i(60, 60), i(40, 0)], &OUTS);
        assert_eq!(amounts(&r), (vec![42, 15], 3));
        // no fee: 60 over 95 of output value: 44.21 → 44, 15.79 → 16 (largest remainder)
        let r = spread(Model::Haircut, true, &[i(60, 60), i(40, 0)], &OUTS);
        assert_eq!(amounts(&r), (vec![44, 16], 0));
    }

    #[test]
    fn fifo_and_lifo_by_hand() {
        // FIFO: stream T60 C40; output 0 takes T60 C10, output 1 C25, fee C5
        let r = spread(Model::Fifo, false, &[i(60, 60), i(40, 0)], &OUTS);
        assert_eq!(amounts(&r), (vec![60, 0], 0));
        assert_eq!(r.0[0].stretches, vec![(60, true), (10, false)]);
        // LIFO: stream C40 T60; output 0 takes C40 T30, output 1 T25, fee T5
        let r = spread(Model::Lifo, false, &[i(60, 60), i(40, 0)], &OUTS);
        assert_eq!(amounts(&r), (vec![30, 25], 5));
        // LIFO, fees clean: the fee comes out of the clean 40 first: C35 T60
        let r = spread(Model::Lifo, true, &[i(60, 60), i(40, 0)], &OUTS);
        assert_eq!(amounts(&r), (vec![35, 25], 0));
    }

    #[test]
    fn tiho_fills_the_largest_output() {
        // fee's share of 60: 60 × 5 / 100 = 3; 57 to the 70 output
        let r = spread(Model::Tiho, false, &[i(60, 60), i(40, 0)], &OUTS);
        assert_eq!(amounts(&r), (vec![57, 0], 3));
        let r = spread(Model::Tiho, true, &[i(60, 60), i(40, 0)], &[20, 25, 50]);
        assert_eq!(amounts(&r), (vec![0, 10, 50], 0));
    }

    #[test]
    fn conservation_on_random_transactions() {
        // no output above its value; haircut/fifo/lifo/tiho: inputs' taint = outputs' + fee's
        let mut x: u64 = 12345;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..2000 {
            let n_in = 1 + (next() % 4) as usize;
            let ins: Vec<InTaint> = (0..n_in)
                .map(|_| {
                    let v = 1 + next() % 1000;
                    let a = if next() % 2 == 0 { next() % (v + 1) } else { 0 };
                    i(v, a)
                })
                .collect();
            let total_in: u64 = ins.iter().map(|i| i.value).sum();
            let fee = next() % (total_in / 4 + 1);
            let n_out = 1 + (next() % 4) as usize;
            let mut left = total_in - fee;
            let mut outs = Vec::new();
            for k in 0..n_out {
                let v = if k + 1 == n_out {
                    left
                } else {
                    next() % (left + 1)
                };
                outs.push(v);
                left -= v;
            }
            let taint: u64 = ins.iter().map(|i| i.amount).sum();
            for m in [Model::Haircut, Model::Fifo, Model::Lifo, Model::Tiho] {
                for no_fee in [false, true] {
                    let (o, f) = spread(m, no_fee, &ins, &outs);
                    for (t, v) in o.iter().zip(&outs) {
                        assert!(t.amount <= *v, "{m:?}: {} > {v}", t.amount);
                    }
                    let sum: u64 = o.iter().map(|t| t.amount).sum();
                    assert_eq!(sum + f, taint, "{m:?} no_fee={no_fee}");
                    if no_fee && taint <= outs.iter().sum() && m != Model::Fifo && m != Model::Lifo
                    {
                        assert_eq!(f, 0, "{m:?}");
                    }
                }
            }
        }
    }
}
