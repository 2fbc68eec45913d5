//! Block-range pruning: which chunk files a query's filters can possibly match.
//!
//! A chunk's name says which blocks it holds, so a filter on the block column
//! (`block_number`, or `number` in `blocks`) rules files out before any is opened. Row
//! groups inside the remaining files are then pruned by DataFusion from Parquet statistics.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};

/// Inclusive bounds on the block number implied by a conjunction of filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Lowest block that can match.
    pub lo: i128,
    /// Highest block that can match.
    pub hi: i128,
}

impl Bounds {
    /// No constraint.
    pub const ALL: Bounds = Bounds {
        lo: i128::MIN,
        hi: i128::MAX,
    };

    /// Whether the inclusive range `start..=end` can hold a matching block.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.lo <= end as i128 && self.hi >= start as i128 && self.lo <= self.hi
    }

    fn and(self, o: Bounds) -> Bounds {
        Bounds {
            lo: self.lo.max(o.lo),
            hi: self.hi.min(o.hi),
        }
    }

    fn or(self, o: Bounds) -> Bounds {
        Bounds {
            lo: self.lo.min(o.lo),
            hi: self.hi.max(o.hi),
        }
    }
}

/// The bounds on `column` implied by all `filters` together (they are ANDed, as DataFusion
/// hands them to a table scan). Filters the analysis does not understand bound nothing.
pub fn bounds(filters: &[Expr], column: &str) -> Bounds {
    filters
        .iter()
        .fold(Bounds::ALL, |b, f| b.and(expr_bounds(f, column)))
}

fn is_col(e: &Expr, column: &str) -> bool {
    match e {
        Expr::Column(c) => c.name == column,
        // widening integer casts keep the order
        Expr::Cast(c) => c.field.data_type().is_integer() && is_col(&c.expr, column),
        Expr::TryCast(c) => c.field.data_type().is_integer() && is_col(&c.expr, column),
        _ => false,
    }
}

fn literal(e: &Expr) -> Option<i128> {
    let v = match e {
        Expr::Literal(v, _) => v,
        Expr::Cast(c) => return literal(&c.expr),
        _ => return None,
    };
    match v {
        ScalarValue::Int8(Some(x)) => Some(*x as i128),
        ScalarValue::Int16(Some(x)) => Some(*x as i128),
        ScalarValue::Int32(Some(x)) => Some(*x as i128),
        ScalarValue::Int64(Some(x)) => Some(*x as i128),
        ScalarValue::UInt8(Some(x)) => Some(*x as i128),
        ScalarValue::UInt16(Some(x)) => Some(*x as i128),
        ScalarValue::UInt32(Some(x)) => Some(*x as i128),
        ScalarValue::UInt64(Some(x)) => Some(*x as i128),
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

fn expr_bounds(e: &Expr, column: &str) -> Bounds {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => expr_bounds(left, column).and(expr_bounds(right, column)),
            Operator::Or => expr_bounds(left, column).or(expr_bounds(right, column)),
            _ => {
                let (op, v) = if is_col(left, column) {
                    match literal(right) {
                        Some(v) => (*op, v),
                        None => return Bounds::ALL,
                    }
                } else if is_col(right, column) {
                    match (literal(left), op.swap()) {
                        (Some(v), Some(op)) => (op, v),
                        _ => return Bounds::ALL,
                    }
                } else {
                    return Bounds::ALL;
                };
                match op {
                    Operator::Eq => Bounds { lo: v, hi: v },
                    Operator::Lt => Bounds {
                        lo: i128::MIN,
                        hi: v - 1,
                    },
                    Operator::LtEq => Bounds {
                        lo: i128::MIN,
                        hi: v,
                    },
                    Operator::Gt => Bounds {
                        lo: v + 1,
                        hi: i128::MAX,
                    },
                    Operator::GtEq => Bounds {
                        lo: v,
                        hi: i128::MAX,
                    },
                    _ => Bounds::ALL,
                }
            }
        },
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) if is_col(expr, column) => match (literal(low), literal(high)) {
            (Some(lo), Some(hi)) => Bounds { lo, hi },
            _ => Bounds::ALL,
        },
        Expr::InList(l) if !l.negated && is_col(&l.expr, column) => {
            let vals: Option<Vec<i128>> = l.list.iter().map(literal).collect();
            match vals {
                Some(v) if !v.is_empty() => Bounds {
                    lo: *v.iter().min().unwrap_or(&i128::MIN),
                    hi: *v.iter().max().unwrap_or(&i128::MAX),
                },
                _ => Bounds::ALL,
            }
        }
        _ => Bounds::ALL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    #[test]
    fn comparisons() {
        let c = "block_number";
        assert_eq!(bounds(&[], c), Bounds::ALL);
        let b = bounds(&[col(c).gt_eq(lit(100i64)), col(c).lt(lit(200i64))], c);
        assert_eq!(b, Bounds { lo: 100, hi: 199 });
        assert!(b.overlaps(0, 100) && b.overlaps(199, 300) && !b.overlaps(200, 300));
        let b = bounds(&[lit(5i64).lt(col(c))], c);
        assert_eq!(b.lo, 6);
        let b = bounds(&[col(c).eq(lit(7u64))], c);
        assert_eq!(b, Bounds { lo: 7, hi: 7 });
        let b = bounds(&[col(c).between(lit(3i64), lit(9i64))], c);
        assert_eq!(b, Bounds { lo: 3, hi: 9 });
        let b = bounds(&[col(c).in_list(vec![lit(40i64), lit(4i64)], false)], c);
        assert_eq!(b, Bounds { lo: 4, hi: 40 });
        let b = bounds(&[col(c).eq(lit(1i64)).or(col(c).eq(lit(50i64)))], c);
        assert_eq!(b, Bounds { lo: 1, hi: 50 });
        // contradictions match nothing
        let b = bounds(&[col(c).gt(lit(10i64)), col(c).lt(lit(5i64))], c);
        assert!(!b.overlaps(0, 100));
    }

    #[test]
    fn other_columns_and_shapes_bound_nothing() {
        let c = "block_number";
        assert_eq!(bounds(&[col("number").eq(lit(1i64))], c), Bounds::ALL);
        assert_eq!(
            bounds(&[col(c).eq(lit(1i64)).or(col("x").eq(lit(2i64)))], c),
            Bounds::ALL
        );
        assert_eq!(bounds(&[col(c).not_eq(lit(1i64))], c), Bounds::ALL);
        assert_eq!(
            bounds(&[col(c).in_list(vec![lit(1i64)], true)], c),
            Bounds::ALL
        );
        assert_eq!(
            bounds(&[!col(c).between(lit(1i64), lit(5i64))], c),
            Bounds::ALL
        );
    }
}
