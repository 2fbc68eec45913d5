//! Actor features from lake tables: one row per actor (an address or an entity) and
//! window, in documented families (counts, values, time, structure, neighbourhood; gas,
//! contracts and tokens on account chains).
//!
//! A window `(start, end]` is a span of block time. It covers the blocks from the first
//! one stamped after `start` to the last one before the first block stamped after `end`
//! (block times are not monotonic, so a window is a run of whole blocks: the chain
//! prefix up to its end, minus the prefix up to its start). Nothing from a block after
//! the window's end is read: the ledger is loaded up to that block and no later, and
//! history features (balance, age, totals) look back from the end, never past it.
//!
//! - [`utxo`]: Bitcoin-family actors over the UTXO ledger (pure, on a `Ledger`).
//! - [`evm`]: account-chain addresses over transactions, token transfers and contracts
//!   (pure, on decoded rows).
//! - [`lake`]: the extract side: window cuts from the `blocks` table, loading, the
//!   Merkle root of the chunks read, the Parquet file with its metadata.

pub mod evm;
pub mod lake;
pub mod utxo;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A feature family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Counts,
    Values,
    Time,
    Structure,
    Neighbourhood,
    /// Account chains: gas and fees.
    Gas,
    /// Account chains: contract interactions.
    Contracts,
    /// Account chains: tokens.
    Tokens,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Counts => "counts",
            Family::Values => "values",
            Family::Time => "time",
            Family::Structure => "structure",
            Family::Neighbourhood => "neighbourhood",
            Family::Gas => "gas",
            Family::Contracts => "contracts",
            Family::Tokens => "tokens",
        }
    }
}

/// One documented feature column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureDef {
    pub name: String,
    pub family: Family,
    pub definition: String,
}

/// Declares a feature list: an index type (`F::name as usize` is the column) and the
/// catalog of names, families and definitions, from one table.
macro_rules! feature_list {
    ($catalog:ident, $idx:ident; $( $id:ident, $fam:ident, $def:literal; )*) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub(crate) enum $idx { $( $id, )* }

        impl $idx {
            /// Every column, in catalog order (`ALL[f as usize] == f`).
            pub(crate) const ALL: &'static [$idx] = &[ $( $idx::$id, )* ];

            /// The column `i` places after this one (runs of columns filled at once).
            pub(crate) fn nth(self, i: usize) -> $idx {
                Self::ALL[self as usize + i]
            }
        }

        /// The static columns, in output order: (name, family, definition).
        pub const $catalog: &[(&str, $crate::features::Family, &str)] = &[
            $( (stringify!($id), $crate::features::Family::$fam, $def), )*
        ];
    };
}
pub(crate) use feature_list;

/// The level actors are taken at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// One actor per address.
    Address,
    /// One actor per entity (multi-input clustering of the chain up to the window end).
    Entity,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Address => "address",
            Level::Entity => "entity",
        }
    }
}

/// A window of block time, seconds since the epoch: `(start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

/// Windows of `length` seconds ending at `until`, `until − step`, …, `count` of them,
/// oldest first.
pub fn windows(until: i64, length: i64, step: i64, count: usize) -> Vec<Window> {
    let mut w: Vec<Window> = (0..count as i64)
        .map(|k| {
            let end = until - k * step;
            Window {
                start: end - length,
                end,
            }
        })
        .collect();
    w.reverse();
    w
}

/// Parses a duration: a number and a unit (`s`, `m`, `h`, `d`, `w`), e.g. `30d`, `12h`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration: write a number and a unit, e.g. 30d"))?;
    let mul = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        u => {
            return Err(format!(
                "{s:?}: unknown unit {u:?} (use s, m, h, d or w, e.g. 30d)"
            ))
        }
    };
    if n <= 0 {
        return Err(format!("{s:?}: a duration must be positive"));
    }
    n.checked_mul(mul)
        .ok_or_else(|| format!("{s:?}: too long a duration"))
}

/// Feature values of one window: the actors (in a stable order) and one column per
/// feature.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowFeatures {
    pub window: Window,
    /// The window's first and last block (`None`: it holds no block).
    pub blocks: Option<(i64, i64)>,
    /// Actor ids: the address text, or the entity id (its smallest address id) as text.
    pub ids: Vec<String>,
    /// At entity level, the address of the entity id; at address level, empty.
    pub representative: Vec<String>,
    /// The actor's label (from `address_labels`, propagated to entities), if any.
    pub labels: Vec<Option<String>>,
    /// The source of that label (of its first address in the label's category).
    pub label_sources: Vec<Option<String>>,
    /// Columns, in the order of `defs`.
    pub columns: Vec<Vec<f64>>,
    pub defs: Vec<FeatureDef>,
}

/// Labels of addresses for neighbourhood features and the label column: address id →
/// category index into `categories`.
#[derive(Debug, Clone, Default)]
pub struct AddressLabels {
    pub categories: Vec<String>,
    pub of: BTreeMap<u32, u16>,
    /// Where each address's label comes from (its `source`).
    pub sources: BTreeMap<u32, String>,
}

/// Column of the share of labelled counterparties (with labels).
pub const LABELLED_SHARE: &str = "neigh_labelled_share";
/// Prefix of the per-category label share columns.
pub const LABEL_SHARE_PREFIX: &str = "neigh_label_share_";

/// The label columns of a window's graph: the share of each node's counterparties that
/// carry a label, and per category (missing for a node without counterparties).
pub(crate) fn label_shares(
    g: &ledgerflow_graph::csr::Csr,
    cat: &[Option<u16>],
    categories: &[String],
) -> (Vec<FeatureDef>, Vec<Vec<f64>>) {
    let m = g.node_count();
    let nc = categories.len();
    let mut share = vec![vec![f64::NAN; m]; nc + 1];
    let mut neigh: Vec<u32> = Vec::new();
    for r in 0..m as u32 {
        neigh.clear();
        neigh.extend_from_slice(g.out(r).0);
        neigh.extend_from_slice(g.inn(r).0);
        neigh.sort_unstable();
        neigh.dedup();
        if neigh.is_empty() {
            continue;
        }
        let k = neigh.len() as f64;
        let mut per = vec![0u32; nc];
        let mut any = 0u32;
        for &u in &neigh {
            if let Some(c) = cat[u as usize] {
                per[c as usize] += 1;
                any += 1;
            }
        }
        share[0][r as usize] = any as f64 / k;
        for c in 0..nc {
            share[c + 1][r as usize] = per[c] as f64 / k;
        }
    }
    let mut defs = vec![FeatureDef {
        name: LABELLED_SHARE.into(),
        family: Family::Neighbourhood,
        definition: "Share of its counterparties that carry a label (address_labels; an \
                     entity takes the most frequent label of its addresses)."
            .into(),
    }];
    for c in categories {
        defs.push(FeatureDef {
            name: format!("{LABEL_SHARE_PREFIX}{}", column_safe(c)),
            family: Family::Neighbourhood,
            definition: format!("Share of its counterparties labelled {c:?}."),
        });
    }
    (defs, share)
}

/// A category as a column-name suffix: lower case, anything but letters and digits as `_`.
pub fn column_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Statistics of a list of values: min, max, mean, median, population standard
/// deviation (missing for an empty list). Sorts `v`.
pub(crate) fn stats(v: &mut [f64]) -> [f64; 5] {
    if v.is_empty() {
        return [f64::NAN; 5];
    }
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let m = v.len() / 2;
    let median = if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    };
    [v[0], v[v.len() - 1], mean, median, var.sqrt()]
}

/// Activity of an actor from the times (Unix seconds, sorted) of its transactions.
pub(crate) struct Activity {
    /// Distinct UTC days.
    pub days: usize,
    /// First to last, days (missing without activity).
    pub span_days: f64,
    /// The run of columns both catalogs hold from `interval_min_hours` to
    /// `weekday_entropy`, in order: interval min, max, mean, median, std (hours),
    /// burstiness, six 4-hour shares, hour entropy, seven weekday shares, weekday entropy.
    pub run: [f64; 21],
}

pub(crate) fn activity(times: &[i64]) -> Activity {
    let mut days: Vec<i64> = times.iter().map(|t| t.div_euclid(86_400)).collect();
    days.dedup();
    let span_days = match (times.first(), times.last()) {
        (Some(f), Some(l)) => (l - f) as f64 / 86_400.0,
        _ => f64::NAN,
    };
    let mut gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 3600.0)
        .collect();
    let g = stats(&mut gaps);
    let mut hours = [0u32; 24];
    let mut wdays = [0u32; 7];
    for &t in times {
        let (h, w) = hour_weekday(t);
        hours[h] += 1;
        wdays[w] += 1;
    }
    let n = times.len() as f64;
    let mut run = [f64::NAN; 21];
    run[..5].copy_from_slice(&g);
    run[5] = burstiness(g[2], g[4]);
    for k in 0..6 {
        run[6 + k] = ratio(hours[4 * k..4 * k + 4].iter().sum::<u32>() as f64, n);
    }
    run[12] = entropy(&hours);
    for k in 0..7 {
        run[13 + k] = ratio(wdays[k] as f64, n);
    }
    run[20] = entropy(&wdays);
    Activity {
        days: days.len(),
        span_days,
        run,
    }
}

/// Shannon entropy (bits) of counts.
pub(crate) fn entropy(counts: &[u32]) -> f64 {
    let total: u32 = counts.iter().sum();
    if total == 0 {
        return f64::NAN;
    }
    let t = total as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / t;
            -p * p.log2()
        })
        .sum::<f64>()
        + 0.0
}

/// `a / b`, missing when `b` is 0.
pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::NAN
    } else {
        a / b
    }
}

/// Hour of day (0–23) and weekday (0 = Monday) of a Unix time, UTC.
pub(crate) fn hour_weekday(t: i64) -> (usize, usize) {
    let day = t.div_euclid(86_400);
    let hour = (t.rem_euclid(86_400) / 3600) as usize;
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    let wd = ((day + 3).rem_euclid(7)) as usize;
    (hour, wd)
}

/// Burstiness (Goh and Barabási): (σ − μ) / (σ + μ) of inter-event times; missing
/// when undefined.
pub(crate) fn burstiness(mean: f64, std: f64) -> f64 {
    if mean.is_nan() || std.is_nan() || mean + std <= 0.0 {
        return f64::NAN;
    }
    (std - mean) / (std + mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(parse_duration("30d").unwrap(), 30 * 86_400);
        assert_eq!(parse_duration("12h").unwrap(), 12 * 3600);
        assert!(parse_duration("3x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("0d").is_err());
        let mut v = vec![3.0, 1.0, 2.0, 10.0];
        let s = stats(&mut v);
        assert_eq!(s[..4], [1.0, 10.0, 4.0, 2.5]);
        assert!((s[4] - ((9.0f64 + 4.0 + 1.0 + 36.0) / 4.0).sqrt()).abs() < 1e-12);
        assert!(stats(&mut []).iter().all(|x| x.is_nan()));
        assert_eq!(entropy(&[1, 1, 0, 0]), 1.0);
        assert_eq!(entropy(&[5, 0]), 0.0);
        // 2023-11-14 22:13:20 UTC was a Tuesday.
        assert_eq!(hour_weekday(1_700_000_000), (22, 1));
        let w = windows(100, 30, 10, 3);
        assert_eq!(
            w,
            vec![
                Window { start: 50, end: 80 },
                Window { start: 60, end: 90 },
                Window {
                    start: 70,
                    end: 100
                }
            ]
        );
        assert!(burstiness(0.0, 0.0).is_nan());
        assert_eq!(burstiness(1.0, 0.0), -1.0);
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod hand;
