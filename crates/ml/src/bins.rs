//! Histogram binning: each feature's values mapped to at most 255 ordered bins (bin 255
//! holds the missing values), so a split search is a scan over a small histogram.
//!
//! A feature with at most `max_bins` distinct values gets one bin per value; otherwise bin
//! edges sit at quantiles of the training values. Edges ("cuts") are midpoints between
//! neighbouring distinct values, and a value `v` falls in the first bin `b` with
//! `v <= cuts[b]`, so a split "bins `0..=b` go left" is the raw-value rule
//! `v <= cuts[b]`: trees store raw thresholds and predict without binning.

/// The bin of missing values (`NaN`).
pub const MISSING: u8 = 255;
/// The most value bins a feature can have.
pub const MAX_BINS: usize = 255;

/// The bin edges of one feature from its training values.
pub fn cuts(values: &[f64], max_bins: usize) -> Vec<f64> {
    let max_bins = max_bins.clamp(2, MAX_BINS);
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return Vec::new();
    }
    v.sort_by(f64::total_cmp);
    // Distinct values with their counts (-0.0 and 0.0 are one value).
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for x in v.iter().copied() {
        match distinct.last_mut() {
            Some((last, n)) if *last == x => *n += 1,
            _ => distinct.push((x, 1)),
        }
    }
    let mid = midpoint;
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| mid(w[0].0, w[1].0)).collect();
    }
    // Quantile edges: close a bin once it holds its share of the values; a heavy value
    // gets a bin of its own.
    let n = v.len();
    let mut out = Vec::with_capacity(max_bins - 1);
    let mut seen = 0usize;
    let mut next_edge = 1usize;
    for w in distinct.windows(2) {
        seen += w[0].1;
        // The bin boundary `next_edge` of `max_bins` lies at `n * next_edge / max_bins`.
        if seen * max_bins >= n * next_edge {
            out.push(mid(w[0].0, w[1].0));
            while next_edge < max_bins && seen * max_bins >= n * next_edge {
                next_edge += 1;
            }
            if out.len() == max_bins - 1 {
                break;
            }
        }
    }
    out
}

/// The split point between neighbouring values `a < b`: their midpoint, or `a` where the
/// midpoint is not strictly below `b` (adjacent floats) or not finite.
pub fn midpoint(a: f64, b: f64) -> f64 {
    let m = a / 2.0 + b / 2.0;
    if m.is_finite() && m >= a && m < b {
        m
    } else {
        a
    }
}

/// The bin of `v` under `cuts`.
#[inline]
pub fn bin(cuts: &[f64], v: f64) -> u8 {
    if v.is_nan() {
        MISSING
    } else {
        cuts.partition_point(|&c| c < v) as u8
    }
}

/// A feature matrix in bins, column-major, with the edges that made it.
#[derive(Debug, Clone)]
pub struct Binned {
    pub rows: usize,
    pub cols: Vec<Vec<u8>>,
    pub cuts: Vec<Vec<f64>>,
}

impl Binned {
    /// Bins `columns` (one vector per feature) with edges from the same values.
    pub fn new(columns: &[Vec<f64>], max_bins: usize, threads: usize) -> Binned {
        let rows = columns.first().map_or(0, Vec::len);
        let work: Vec<(Vec<f64>, Vec<u8>)> = crate::pool::map(columns.len(), threads, |f| {
            let c = cuts(&columns[f], max_bins);
            let b = columns[f].iter().map(|&v| bin(&c, v)).collect();
            (c, b)
        });
        let (cuts, cols) = work.into_iter().unzip();
        Binned { rows, cols, cuts }
    }

    /// Number of value bins of feature `f` (the missing bin not counted).
    pub fn n_bins(&self, f: usize) -> usize {
        self.cuts[f].len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let c = cuts(&[3.0, 1.0, 2.0, 2.0, f64::NAN], 255);
        assert_eq!(c, vec![1.5, 2.5]);
        assert_eq!(bin(&c, 1.0), 0);
        assert_eq!(bin(&c, 1.5), 0);
        assert_eq!(bin(&c, 2.0), 1);
        assert_eq!(bin(&c, 3.0), 2);
        assert_eq!(bin(&c, 99.0), 2);
        assert_eq!(bin(&c, f64::NAN), MISSING);
        assert!(cuts(&[f64::NAN], 255).is_empty());
        assert!(cuts(&[7.0, 7.0], 255).is_empty());
    }

    #[test]
    fn split_rule_matches_raw_threshold() {
        let vals: Vec<f64> = (0..10_000)
            .map(|i| ((i * 7919) % 1000) as f64 / 7.0)
            .collect();
        let c = cuts(&vals, 32);
        assert!(c.len() <= 31 && c.len() >= 25, "{}", c.len());
        assert!(c.windows(2).all(|w| w[0] < w[1]));
        for &v in &vals {
            let b = bin(&c, v) as usize;
            for (k, &t) in c.iter().enumerate() {
                assert_eq!(b <= k, v <= t);
            }
        }
    }

    #[test]
    fn heavy_values_and_infinities() {
        let mut vals = vec![0.0; 900];
        vals.extend((1..=100).map(f64::from));
        vals.push(f64::INFINITY);
        vals.push(f64::NEG_INFINITY);
        let c = cuts(&vals, 16);
        assert!(c.iter().all(|x| !x.is_nan()));
        assert!(bin(&c, 0.0) != bin(&c, 50.0));
        assert!(bin(&c, f64::NEG_INFINITY) <= bin(&c, 0.0));
        // With one bin per value, -inf is a value of its own.
        let c = cuts(&[f64::NEG_INFINITY, 0.0, 1.0], 255);
        assert_eq!(c, vec![f64::NEG_INFINITY, 0.5]);
        assert!(bin(&c, f64::NEG_INFINITY) < bin(&c, 0.0));
    }
}
