//! Dense row-major matrices and the few products graph layers need, written so every sum
//! runs in one fixed order (the same bits on any machine and thread count).

/// A row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Mat {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Mat {
    /// A zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Mat {
        Mat {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// From row-major data (`data.len()` must be `rows × cols`).
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f64>) -> Mat {
        debug_assert_eq!(data.len(), rows * cols);
        Mat { rows, cols, data }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i`, mutable.
    pub fn row_mut(&mut self, i: usize) -> &mut [f64] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// `self · b` (n×k · k×m).
    pub fn matmul(&self, b: &Mat) -> Mat {
        debug_assert_eq!(self.cols, b.rows);
        let mut out = Mat::zeros(self.rows, b.cols);
        for i in 0..self.rows {
            let o = &mut out.data[i * b.cols..(i + 1) * b.cols];
            for (k, &a) in self.row(i).iter().enumerate() {
                if a == 0.0 {
                    continue;
                }
                for (x, &y) in o.iter_mut().zip(b.row(k)) {
                    *x += a * y;
                }
            }
        }
        out
    }

    /// `selfᵀ · b` (n×k, n×m → k×m): weight gradients.
    pub fn t_matmul(&self, b: &Mat) -> Mat {
        debug_assert_eq!(self.rows, b.rows);
        let mut out = Mat::zeros(self.cols, b.cols);
        for i in 0..self.rows {
            let bi = b.row(i);
            for (k, &a) in self.row(i).iter().enumerate() {
                if a == 0.0 {
                    continue;
                }
                for (x, &y) in out.data[k * b.cols..(k + 1) * b.cols].iter_mut().zip(bi) {
                    *x += a * y;
                }
            }
        }
        out
    }

    /// `self · bᵀ` (n×m, k×m → n×k): input gradients.
    pub fn matmul_t(&self, b: &Mat) -> Mat {
        debug_assert_eq!(self.cols, b.cols);
        let mut out = Mat::zeros(self.rows, b.rows);
        for i in 0..self.rows {
            let a = self.row(i);
            for k in 0..b.rows {
                out.data[i * b.rows + k] = a.iter().zip(b.row(k)).map(|(x, y)| x * y).sum();
            }
        }
        out
    }

    /// Adds `bias` to every row.
    pub fn add_row(&mut self, bias: &[f64]) {
        for i in 0..self.rows {
            for (x, b) in self.row_mut(i).iter_mut().zip(bias) {
                *x += b;
            }
        }
    }

    /// The column sums (bias gradients).
    pub fn col_sums(&self) -> Vec<f64> {
        let mut s = vec![0.0; self.cols];
        for i in 0..self.rows {
            for (x, y) in s.iter_mut().zip(self.row(i)) {
                *x += y;
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_agree_with_the_definitions() {
        let a = Mat::from_vec(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = Mat::from_vec(3, 2, vec![7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
        assert_eq!(a.matmul(&b).data, vec![58.0, 64.0, 139.0, 154.0]);
        // aᵀ·c with c 2×2
        let c = Mat::from_vec(2, 2, vec![1.0, 0.0, 0.0, 1.0]);
        assert_eq!(a.t_matmul(&c).data, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        // a·aᵀ
        assert_eq!(a.matmul_t(&a).data, vec![14.0, 32.0, 32.0, 77.0]);
        let mut d = a.clone();
        d.add_row(&[1.0, 1.0, 1.0]);
        assert_eq!(d.col_sums(), vec![7.0, 9.0, 11.0]);
    }
}
