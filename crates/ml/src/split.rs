//! Train/test splits that do not leak: temporal (train strictly before the cutoff, test
//! from it on) and group-disjoint (every group — an entity, an address — entirely on one
//! side, chosen by a seeded hash of the group's name, so a split does not depend on row
//! order). Random row splits are deliberately not offered.

use sha2::{Digest, Sha256};

use crate::error::{MlError, Result};
use crate::table::FeatureTable;

/// How to split.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Split {
    /// Rows with `col < cutoff` train, the rest test.
    Time { col: String, cutoff: f64 },
    /// Groups of `col` hashed with `seed`; a share `test_fraction` of them test.
    Group {
        col: String,
        test_fraction: f64,
        seed: u64,
    },
}

/// Row indices of the two sides, plus rows left out (no time or group value).
#[derive(Debug, Clone, PartialEq)]
pub struct Sides {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
    pub dropped: usize,
}

/// Unix seconds of a date `YYYY-MM-DD`, optionally followed by `THH:MM[:SS]` (or a
/// space) and `Z`; UTC.
pub fn parse_date(s: &str) -> Option<f64> {
    let s = s.trim().trim_end_matches('Z');
    let (d, t) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut it = d.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let dd: i64 = it.next()?.parse().ok()?;
    if it.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&dd) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut secs = days * 86_400;
    if let Some(t) = t.filter(|t| !t.is_empty()) {
        let mut p = t.split(':');
        let h: i64 = p.next()?.parse().ok()?;
        let mi: i64 = p.next().unwrap_or("0").parse().ok()?;
        let se: f64 = p.next().unwrap_or("0").parse().ok()?;
        secs += h * 3600 + mi * 60;
        return Some(secs as f64 + se);
    }
    Some(secs as f64)
}

/// A cutoff or time value: a number (block height, unix seconds) or a date.
pub fn parse_time(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().or_else(|| parse_date(s))
}

/// A hash in `[0, 1)` of a group name under a seed.
pub fn group_unit(seed: u64, group: &str) -> f64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(group.as_bytes());
    let d = h.finalize();
    let mut a = [0u8; 8];
    a.copy_from_slice(&d[..8]);
    (u64::from_le_bytes(a) >> 11) as f64 / (1u64 << 53) as f64
}

/// Splits the rows of `table` (only `rows` are considered, e.g. the labelled ones).
pub fn split(table: &FeatureTable, rows: &[usize], how: &Split) -> Result<Sides> {
    let mut s = Sides {
        train: Vec::new(),
        test: Vec::new(),
        dropped: 0,
    };
    match how {
        Split::Time { col, cutoff } => {
            let a = table.aux(col).ok_or_else(|| {
                MlError::Invalid(format!("the time column {col:?} was not loaded"))
            })?;
            for &i in rows {
                let t = a.number[i].or_else(|| a.text[i].as_deref().and_then(parse_time));
                match t {
                    Some(t) if t < *cutoff => s.train.push(i),
                    Some(_) => s.test.push(i),
                    None => s.dropped += 1,
                }
            }
        }
        Split::Group {
            col,
            test_fraction,
            seed,
        } => {
            if !(*test_fraction > 0.0 && *test_fraction < 1.0) {
                return Err(MlError::Invalid(
                    "--test-fraction must be between 0 and 1".into(),
                ));
            }
            let a = table.aux(col).ok_or_else(|| {
                MlError::Invalid(format!("the group column {col:?} was not loaded"))
            })?;
            for &i in rows {
                match a.text[i].as_deref() {
                    Some(g) if group_unit(*seed, g) < *test_fraction => s.test.push(i),
                    Some(_) => s.train.push(i),
                    None => s.dropped += 1,
                }
            }
        }
    }
    if s.train.is_empty() || s.test.is_empty() {
        return Err(MlError::Invalid(format!(
            "the split leaves {} training and {} test rows; both sides need rows (move the \
             cutoff or change the test fraction)",
            s.train.len(),
            s.test.len()
        )));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{AuxColumn, TableSource};

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0.0));
        assert_eq!(parse_date("2020-03-01"), Some(1_583_020_800.0));
        assert_eq!(parse_date("2020-03-01T01:02:03Z"), Some(1_583_024_523.0));
        assert_eq!(parse_date("2020-13-01"), None);
        assert_eq!(parse_time("123"), Some(123.0));
    }

    fn table(groups: &[&str], times: &[f64]) -> FeatureTable {
        FeatureTable {
            source: TableSource {
                path: "t".into(),
                format: "csv".into(),
                bytes: 0,
                sha256: String::new(),
            },
            ids: (0..groups.len()).map(|i| i.to_string()).collect(),
            names: vec!["x".into()],
            columns: vec![vec![0.0; groups.len()]],
            labels: Vec::new(),
            aux: vec![
                AuxColumn {
                    name: "g".into(),
                    text: groups.iter().map(|g| Some(g.to_string())).collect(),
                    number: vec![None; groups.len()],
                },
                AuxColumn {
                    name: "t".into(),
                    text: vec![None; times.len()],
                    number: times.iter().map(|&t| Some(t)).collect(),
                },
            ],
            lake: None,
        }
    }

    #[test]
    fn groups_never_straddle_and_time_respects_the_cutoff() {
        let groups: Vec<String> = (0..300).map(|i| format!("e{}", i / 3)).collect();
        let g: Vec<&str> = groups.iter().map(String::as_str).collect();
        let times: Vec<f64> = (0..300).map(f64::from).collect();
        let t = table(&g, &times);
        let rows: Vec<usize> = (0..300).collect();
        let s = split(
            &t,
            &rows,
            &Split::Group {
                col: "g".into(),
                test_fraction: 0.3,
                seed: 1,
            },
        )
        .unwrap();
        for &i in &s.test {
            assert!(!s.train.iter().any(|&j| groups[j] == groups[i]));
        }
        let share = s.test.len() as f64 / 300.0;
        assert!((0.15..0.45).contains(&share), "{share}");
        let s = split(
            &t,
            &rows,
            &Split::Time {
                col: "t".into(),
                cutoff: 200.0,
            },
        )
        .unwrap();
        assert_eq!(s.train, (0..200).collect::<Vec<_>>());
        assert_eq!(s.test.len(), 100);
        let err = split(
            &t,
            &rows,
            &Split::Time {
                col: "t".into(),
                cutoff: 1e9,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("0 test rows"), "{err}");
    }
}
