//! Dense row-major matrices and the few products graph layers need, written so every sum
//! runs in one fixed order (the same bits on any machine and thread count): products
//! split their output rows over threads (each row whole on one thread), reductions over
//! rows sum fixed blocks of rows and add the partials in block order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use rayon::prelude::*;

/// Threads the products may use (1 until set); results do not depend on it.
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// The worker pool of `set_threads` (kept between products: starting threads per
/// product cost more than small products themselves).
static POOL: RwLock<Option<Arc<rayon::ThreadPool>>> = RwLock::new(None);

/// Sets the threads the products use (0: one per core).
pub fn set_threads(n: usize) {
    let n = if n == 0 {
        std::thread::available_parallelism().map_or(1, |x| x.get())
    } else {
        n
    };
    THREADS.store(n.max(1), Ordering::Relaxed);
    if let Some(c) = std::env::var("LEDGERFLOW_GNN_PARALLEL_CELLS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        MIN_PARALLEL.store(c, Ordering::Relaxed);
    }
    let pool = (n > 1)
        .then(|| rayon::ThreadPoolBuilder::new().num_threads(n).build().ok())
        .flatten()
        .map(Arc::new);
    if let Ok(mut p) = POOL.write() {
        *p = pool;
    }
}

/// The threads the products use.
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// Output cells below which a product stays on one thread (default; the environment
/// variable `LEDGERFLOW_GNN_PARALLEL_CELLS` overrides it when the threads are set).
/// Products of hidden width 16 are memory-bound: on the 2-core machines measured, two
/// threads made epochs slower up to 20,000 nodes (GCN 50.7 vs 35.2 ms) and no faster
/// at 200,000 (GCN 602 vs 622 ms, GraphSAGE 803 vs 717 ms), so only products of 4M
/// cells and more are split by default (more cores or wider layers move the balance).
pub const PARALLEL_CELLS: usize = 1 << 22;

static MIN_PARALLEL: AtomicUsize = AtomicUsize::new(PARALLEL_CELLS);

/// Sets the product size (output cells) from which products are split over the
/// threads (tests use a small one to exercise the split on small graphs; results do not
/// depend on it).
pub fn set_min_parallel_cells(cells: usize) {
    MIN_PARALLEL.store(cells, Ordering::Relaxed);
}

/// Runs `f` compiled for the best vector instruction set this CPU has (AVX-512 or AVX2
/// on x86-64, found once; plain code elsewhere), so the row kernels inlined into it use
/// wide registers. Only element-wise multiply-adds are vectorised (each output cell's
/// sum keeps its order, and Rust never fuses a multiply and an add), so the results are
/// the same bits with or without it.
pub(crate) fn simd<R>(f: impl FnOnce() -> R) -> R {
    static ARCH: OnceLock<pulp::Arch> = OnceLock::new();
    ARCH.get_or_init(pulp::Arch::new).dispatch(f)
}

/// Fills the rows of `out` (`cols` wide) with `f(row, cells)`, rows split into
/// contiguous ranges over the threads: each row is computed whole by one thread, so the
/// result is the same for any thread count.
pub(crate) fn for_rows(out: &mut [f64], cols: usize, f: impl Fn(usize, &mut [f64]) + Sync) {
    let rows = out.len().checked_div(cols).unwrap_or(0);
    let t = threads().min(rows.max(1));
    let pool = if t <= 1 || out.len() < MIN_PARALLEL.load(Ordering::Relaxed) {
        None
    } else {
        POOL.read().ok().and_then(|p| p.clone())
    };
    let Some(pool) = pool else {
        simd(|| {
            for (i, row) in out.chunks_mut(cols.max(1)).enumerate() {
                f(i, row);
            }
        });
        return;
    };
    let per = rows.div_ceil(t);
    pool.install(|| {
        out.par_chunks_mut(per * cols)
            .enumerate()
            .for_each(|(k, block)| {
                simd(|| {
                    for (i, row) in block.chunks_mut(cols).enumerate() {
                        f(k * per + i, row);
                    }
                })
            });
    });
}

/// Rows per block of a reduction over rows ([`Mat::t_matmul`]): partial sums per block,
/// added in block order, so the result does not depend on the thread count.
const BLOCK_ROWS: usize = 1024;

/// `len` zeros, written after allocating: `vec![0.0; len]` asks the allocator for zeroed
/// memory, which jemalloc serves for large sizes by handing pages back to the kernel and
/// faulting fresh ones in (a third of a small graph's epoch went to page faults);
/// written zeros reuse the pages an earlier buffer freed.
pub(crate) fn zeroed(len: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(len);
    v.resize(len, 0.0);
    v
}

/// `o += a · w` for one row `a` (rows of `w` whose factor is zero skipped).
#[inline(always)]
fn add_row_times(o: &mut [f64], a: &[f64], w: &Mat) {
    for (k, &v) in a.iter().enumerate() {
        if v == 0.0 {
            continue;
        }
        for (x, &y) in o.iter_mut().zip(w.row(k)) {
            *x += v * y;
        }
    }
}

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
            data: zeroed(rows * cols),
        }
    }

    /// Entries uniform in `(-a, a)` from `rng`, row by row.
    pub fn uniform(rows: usize, cols: usize, a: f64, rng: &mut impl rand::Rng) -> Mat {
        let data = (0..rows * cols).map(|_| rng.gen_range(-a..a)).collect();
        Mat::from_vec(rows, cols, data)
    }

    /// Glorot-uniform weights of a `rows → cols` layer: `a = √(6 / (rows + cols))`.
    pub fn glorot(rows: usize, cols: usize, rng: &mut impl rand::Rng) -> Mat {
        Mat::uniform(rows, cols, (6.0 / (rows + cols) as f64).sqrt(), rng)
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
        for_rows(&mut out.data, b.cols, |i, o| {
            add_row_times(o, self.row(i), b)
        });
        out
    }

    /// `a · wa + b · wb + bias` in one pass over the rows (a layer that reads each node
    /// and its neighbourhood mean); each row starts from `bias`, then adds `a`'s terms,
    /// then `b`'s.
    pub fn affine_pair(a: &Mat, wa: &Mat, b: &Mat, wb: &Mat, bias: &[f64]) -> Mat {
        debug_assert_eq!(a.rows, b.rows);
        debug_assert_eq!((a.cols, b.cols), (wa.rows, wb.rows));
        debug_assert_eq!((wa.cols, wb.cols), (bias.len(), bias.len()));
        let mut out = Mat::zeros(a.rows, wa.cols);
        for_rows(&mut out.data, wa.cols, |i, o| {
            o.copy_from_slice(bias);
            add_row_times(o, a.row(i), wa);
            add_row_times(o, b.row(i), wb);
        });
        out
    }

    /// `[a | b]`: the columns of `b` after those of `a` (same rows).
    pub fn hcat(a: &Mat, b: &Mat) -> Mat {
        debug_assert_eq!(a.rows, b.rows);
        let cols = a.cols + b.cols;
        let mut data = Vec::with_capacity(a.rows * cols);
        for i in 0..a.rows {
            data.extend_from_slice(a.row(i));
            data.extend_from_slice(b.row(i));
        }
        Mat::from_vec(a.rows, cols, data)
    }

    /// Columns `c0..c0 + w`.
    pub fn cols(&self, c0: usize, w: usize) -> Mat {
        debug_assert!(c0 + w <= self.cols);
        let mut data = Vec::with_capacity(self.rows * w);
        for i in 0..self.rows {
            data.extend_from_slice(&self.row(i)[c0..c0 + w]);
        }
        Mat::from_vec(self.rows, w, data)
    }

    /// `selfᵀ · b` (n×k, n×m → k×m): weight gradients.
    pub fn t_matmul(&self, b: &Mat) -> Mat {
        debug_assert_eq!(self.rows, b.rows);
        let cells = self.cols * b.cols;
        let blocks = self.rows.div_ceil(BLOCK_ROWS);
        // one partial sum per block of rows (blocks spread over the threads), then the
        // partials added in block order
        let mut partial = zeroed(blocks * cells);
        for_rows(&mut partial, cells.max(1), |blk, out| {
            let hi = ((blk + 1) * BLOCK_ROWS).min(self.rows);
            for i in blk * BLOCK_ROWS..hi {
                let bi = b.row(i);
                for (k, &a) in self.row(i).iter().enumerate() {
                    if a == 0.0 {
                        continue;
                    }
                    for (x, &y) in out[k * b.cols..(k + 1) * b.cols].iter_mut().zip(bi) {
                        *x += a * y;
                    }
                }
            }
        });
        let mut out = Mat::zeros(self.cols, b.cols);
        for p in partial.chunks(cells.max(1)) {
            for (o, v) in out.data.iter_mut().zip(p) {
                *o += v;
            }
        }
        out
    }

    /// `self · bᵀ` (n×m, k×m → n×k): input gradients.
    pub fn matmul_t(&self, b: &Mat) -> Mat {
        debug_assert_eq!(self.cols, b.cols);
        let mut out = Mat::zeros(self.rows, b.rows);
        for_rows(&mut out.data, b.rows, |i, o| {
            let a = self.row(i);
            for (k, v) in o.iter_mut().enumerate() {
                *v = a.iter().zip(b.row(k)).map(|(x, y)| x * y).sum();
            }
        });
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

/// Per column of `x`, the mean and the (population) deviation over `rows`; a column
/// that does not vary there gets deviation 1.
pub fn column_scaling(x: &Mat, rows: &[usize]) -> Vec<(f64, f64)> {
    (0..x.cols)
        .map(|f| {
            let len = rows.len().max(1) as f64;
            let mean = rows.iter().map(|&i| x.row(i)[f]).sum::<f64>() / len;
            let var = rows
                .iter()
                .map(|&i| (x.row(i)[f] - mean).powi(2))
                .sum::<f64>()
                / len;
            (mean, if var > 0.0 { var.sqrt() } else { 1.0 })
        })
        .collect()
}

/// `x` with every column standardised by its (mean, deviation).
pub fn standardise(x: &Mat, scaling: &[(f64, f64)]) -> Mat {
    let mut out = x.clone();
    for row in out.data.chunks_mut(x.cols.max(1)) {
        for (v, &(m, s)) in row.iter_mut().zip(scaling) {
            *v = (*v - m) / s;
        }
    }
    out
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

    /// The vectorised kernels give the bits of plain loops summing in the same order
    /// (no reassociation, no fused multiply-add), on any instruction set.
    #[test]
    fn vectorised_products_equal_plain_loops_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut rand = |r: usize, c: usize| {
            Mat::from_vec(r, c, (0..r * c).map(|_| rng.gen_range(-3.0..3.0)).collect())
        };
        let (n, k, m) = (301, 19, 13);
        let (a, b, w, v) = (rand(n, k), rand(n, k), rand(k, m), rand(k, m));
        let bias: Vec<f64> = rand(1, m).data;
        let plain = |x: &Mat, w: &Mat, start: &[f64]| -> Vec<f64> {
            let mut out = Vec::new();
            for i in 0..x.rows {
                for (j, &s0) in start.iter().enumerate().take(w.cols) {
                    let mut s = s0;
                    for q in 0..x.cols {
                        s += x.row(i)[q] * w.row(q)[j];
                    }
                    out.push(s);
                }
            }
            out
        };
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let zero = vec![0.0; m];
        assert_eq!(bits(&a.matmul(&w).data), bits(&plain(&a, &w, &zero)));
        // a·w + b·v + bias: from the bias, a's terms, then b's
        let ab = Mat::hcat(&a, &b);
        let mut wv = w.clone();
        wv.rows += v.rows;
        wv.data.extend_from_slice(&v.data);
        assert_eq!(
            bits(&Mat::affine_pair(&a, &w, &b, &v, &bias).data),
            bits(&plain(&ab, &wv, &bias))
        );
        // aᵀ·c and a·wᵀ against the same loops over transposed copies
        let transpose = |x: &Mat| {
            let mut t = Mat::zeros(x.cols, x.rows);
            for i in 0..x.rows {
                for j in 0..x.cols {
                    t.row_mut(j)[i] = x.row(i)[j];
                }
            }
            t
        };
        let c = rand(n, m);
        assert_eq!(
            bits(&a.t_matmul(&c).data),
            bits(&plain(&transpose(&a), &c, &zero))
        );
        let wt = rand(m, k);
        assert_eq!(
            bits(&a.matmul_t(&wt).data),
            bits(&plain(&a, &transpose(&wt), &zero))
        );
    }
}
