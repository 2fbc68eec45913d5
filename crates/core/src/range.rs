//! Block ranges in the forms users know from cryo and ethereum-etl.
//!
//! | spec | meaning |
//! |---|---|
//! | `100` | block 100 only |
//! | `100:200` | blocks 100 to 200, **inclusive** (ethereum-etl's `-s 100 -e 200`) |
//! | `100:` or `100:latest` | from 100 to the chain head |
//! | `:200` | from genesis to 200 |
//! | `-50:` | the last 50 blocks up to the head |
//! | `100:+10` | 10 blocks starting at 100 (100..=109) |
//! | `latest` | the head block only |
//! | `0:latest` | everything |
//!
//! A spec is parsed without I/O into a [`BlockSpec`]; [`BlockSpec::resolve`] turns it into
//! a concrete [`BlockRange`] once the head is known.

use std::fmt;
use std::str::FromStr;

/// Why a block range could not be parsed or resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// The text is not a block range.
    #[error("invalid block range {spec:?}: {reason} (examples: 100:200, -100:, 0:latest, latest)")]
    Invalid {
        /// The text the user gave.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The range ends before it starts.
    #[error("block range {spec:?} is empty: it ends at {end} before it starts at {start}")]
    Empty {
        /// The text the user gave.
        spec: String,
        /// Resolved start.
        start: u64,
        /// Resolved end.
        end: u64,
    },
    /// The range reaches past the chain head.
    #[error("block range {spec:?} reaches block {end} but the chain head is {head}")]
    BeyondHead {
        /// The text the user gave.
        spec: String,
        /// Resolved end.
        end: u64,
        /// The head block.
        head: u64,
    },
}

/// One end of a range as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// A block number.
    Number(u64),
    /// The chain head.
    Latest,
    /// `latest - n` (from `-n:`).
    FromHead(u64),
    /// `start + n - 1` (from `a:+n`).
    Count(u64),
}

/// A parsed, unresolved block range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSpec {
    text: String,
    start: Bound,
    end: Bound,
}

impl BlockSpec {
    /// Whether resolving this spec needs the chain head.
    pub fn needs_head(&self) -> bool {
        matches!(self.start, Bound::Latest | Bound::FromHead(_))
            || matches!(self.end, Bound::Latest | Bound::FromHead(_))
    }

    /// The text the user wrote.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Resolves the spec against the chain head (pass `None` when it is not known; specs
    /// that need it then fail with [`RangeError::Invalid`]).
    pub fn resolve(&self, head: Option<u64>) -> Result<BlockRange, RangeError> {
        let need_head = || {
            head.ok_or_else(|| RangeError::Invalid {
                spec: self.text.clone(),
                reason: "it refers to the chain head, which is unknown here".into(),
            })
        };
        let start = match self.start {
            Bound::Number(n) => n,
            Bound::Latest => need_head()?,
            Bound::FromHead(n) => {
                let h = need_head()?;
                (h + 1).saturating_sub(n)
            }
            Bound::Count(_) => unreachable_bound(&self.text)?,
        };
        let end = match self.end {
            Bound::Number(n) => n,
            Bound::Latest => need_head()?,
            Bound::FromHead(n) => need_head()?.saturating_sub(n),
            Bound::Count(n) => {
                if n == 0 {
                    return Err(RangeError::Invalid {
                        spec: self.text.clone(),
                        reason: "a count of 0 blocks selects nothing".into(),
                    });
                }
                start
                    .checked_add(n - 1)
                    .ok_or_else(|| RangeError::Invalid {
                        spec: self.text.clone(),
                        reason: "the end overflows".into(),
                    })?
            }
        };
        if end < start {
            return Err(RangeError::Empty {
                spec: self.text.clone(),
                start,
                end,
            });
        }
        if let Some(h) = head {
            if end > h {
                return Err(RangeError::BeyondHead {
                    spec: self.text.clone(),
                    end,
                    head: h,
                });
            }
        }
        Ok(BlockRange { start, end })
    }
}

fn unreachable_bound(spec: &str) -> Result<u64, RangeError> {
    Err(RangeError::Invalid {
        spec: spec.to_string(),
        reason: "a count (+n) can only be the end".into(),
    })
}

fn parse_bound(text: &str, spec: &str, is_end: bool) -> Result<Bound, RangeError> {
    let invalid = |reason: &str| RangeError::Invalid {
        spec: spec.to_string(),
        reason: reason.to_string(),
    };
    let t = text.trim();
    if t.eq_ignore_ascii_case("latest") {
        return Ok(Bound::Latest);
    }
    if let Some(rest) = t.strip_prefix('+') {
        if !is_end {
            return Err(invalid("a count (+n) can only be the end"));
        }
        return parse_number(rest)
            .map(Bound::Count)
            .ok_or_else(|| invalid("the count is not a number"));
    }
    if let Some(rest) = t.strip_prefix('-') {
        if is_end {
            return Err(invalid("the end cannot be negative"));
        }
        let n =
            parse_number(rest).ok_or_else(|| invalid("the number after '-' is not a number"))?;
        if n == 0 {
            return Err(invalid("-0 selects nothing"));
        }
        return Ok(Bound::FromHead(n));
    }
    parse_number(t)
        .map(Bound::Number)
        .ok_or_else(|| invalid(&format!("{t:?} is not a block number")))
}

/// Parses `12345`, `12_345`, `1e6`-free decimal, `0x1f` hex, and `12k`/`1m` suffixes like cryo.
fn parse_number(t: &str) -> Option<u64> {
    let t = t.trim().replace('_', "");
    if let Some(hex) = t.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok();
    }
    let (digits, mult) = match t.chars().last() {
        Some('k') | Some('K') => (&t[..t.len() - 1], 1_000u64),
        Some('m') | Some('M') => (&t[..t.len() - 1], 1_000_000u64),
        _ => (t.as_str(), 1u64),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

impl FromStr for BlockSpec {
    type Err = RangeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim().to_string();
        if text.is_empty() {
            return Err(RangeError::Invalid {
                spec: text,
                reason: "it is empty".into(),
            });
        }
        let (start, end) = match text.split_once(':') {
            None => {
                let b = parse_bound(&text, &text, false)?;
                match b {
                    Bound::FromHead(_) => (b, Bound::Latest),
                    _ => (b, b),
                }
            }
            Some((a, b)) => {
                if b.contains(':') {
                    return Err(RangeError::Invalid {
                        spec: text.clone(),
                        reason: "more than one ':'".into(),
                    });
                }
                let start = if a.trim().is_empty() {
                    Bound::Number(0)
                } else {
                    parse_bound(a, &text, false)?
                };
                let end = if b.trim().is_empty() {
                    Bound::Latest
                } else {
                    parse_bound(b, &text, true)?
                };
                (start, end)
            }
        };
        Ok(BlockSpec { text, start, end })
    }
}

/// An inclusive range of block numbers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct BlockRange {
    /// First block, inclusive.
    pub start: u64,
    /// Last block, inclusive.
    pub end: u64,
}

impl BlockRange {
    /// A range from `start` to `end` inclusive. Panics in debug builds when `end < start`.
    pub fn new(start: u64, end: u64) -> Self {
        debug_assert!(start <= end, "empty block range {start}..={end}");
        BlockRange { start, end }
    }

    /// Number of blocks in the range.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Always false: a `BlockRange` holds at least one block.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Iterates over the block numbers.
    pub fn iter(&self) -> std::ops::RangeInclusive<u64> {
        self.start..=self.end
    }

    /// Splits the range into chunks aligned to multiples of `size` (like cryo): the chunk
    /// of block `n` is always `[n - n % size, n - n % size + size - 1]`, clipped to the range,
    /// so two runs over overlapping ranges produce the same chunk boundaries.
    pub fn aligned_chunks(&self, size: u64) -> Vec<BlockRange> {
        let size = size.max(1);
        let mut out = Vec::new();
        let mut s = self.start;
        loop {
            let chunk_end = (s - s % size).saturating_add(size - 1);
            let e = chunk_end.min(self.end);
            out.push(BlockRange { start: s, end: e });
            if e >= self.end {
                break;
            }
            s = e + 1;
        }
        out
    }

    /// Whether this chunk covers its whole aligned slot of `size` blocks.
    pub fn is_full_chunk(&self, size: u64) -> bool {
        self.start.is_multiple_of(size) && self.len() == size
    }
}

impl fmt::Display for BlockRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(spec: &str, head: Option<u64>) -> Result<BlockRange, RangeError> {
        spec.parse::<BlockSpec>()?.resolve(head)
    }

    #[test]
    fn parses_user_forms() {
        assert_eq!(r("100:200", None).unwrap(), BlockRange::new(100, 200));
        assert_eq!(r("100", None).unwrap(), BlockRange::new(100, 100));
        assert_eq!(r("100:", Some(500)).unwrap(), BlockRange::new(100, 500));
        assert_eq!(r(":5", None).unwrap(), BlockRange::new(0, 5));
        assert_eq!(r("-50:", Some(500)).unwrap(), BlockRange::new(451, 500));
        assert_eq!(r("-50", Some(500)).unwrap(), BlockRange::new(451, 500));
        assert_eq!(r("-1000:", Some(10)).unwrap(), BlockRange::new(0, 10));
        assert_eq!(r("100:+10", None).unwrap(), BlockRange::new(100, 109));
        assert_eq!(r("latest", Some(7)).unwrap(), BlockRange::new(7, 7));
        assert_eq!(r("0:latest", Some(7)).unwrap(), BlockRange::new(0, 7));
        assert_eq!(r("1k:2k", None).unwrap(), BlockRange::new(1000, 2000));
        assert_eq!(r("0x10:0x20", None).unwrap(), BlockRange::new(16, 32));
        assert_eq!(r("1_000:1_001", None).unwrap(), BlockRange::new(1000, 1001));
    }

    #[test]
    fn rejects_bad_ranges_with_reasons() {
        for bad in ["", "abc", "1:2:3", "5:-1", "+5:10", "1:+0", "-0:"] {
            let e = r(bad, Some(100)).unwrap_err();
            assert!(matches!(e, RangeError::Invalid { .. }), "{bad}: {e}");
        }
        assert!(matches!(
            r("9:3", None).unwrap_err(),
            RangeError::Empty { .. }
        ));
        assert!(matches!(
            r("0:200", Some(100)).unwrap_err(),
            RangeError::BeyondHead { .. }
        ));
        assert!(r("latest", None)
            .unwrap_err()
            .to_string()
            .contains("chain head"));
    }

    #[test]
    fn aligned_chunks_are_stable() {
        let c = BlockRange::new(5, 2500).aligned_chunks(1000);
        assert_eq!(
            c,
            vec![
                BlockRange::new(5, 999),
                BlockRange::new(1000, 1999),
                BlockRange::new(2000, 2500)
            ]
        );
        assert_eq!(
            BlockRange::new(0, 0).aligned_chunks(1000),
            vec![BlockRange::new(0, 0)]
        );
        assert!(BlockRange::new(1000, 1999).is_full_chunk(1000));
        assert!(!BlockRange::new(2000, 2500).is_full_chunk(1000));
        let total: u64 = BlockRange::new(3, 10_007)
            .aligned_chunks(7)
            .iter()
            .map(|c| c.len())
            .sum();
        assert_eq!(total, 10_005);
    }
}
