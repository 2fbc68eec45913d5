//! Deterministic parallelism: work items handed out to scoped threads, results put back
//! in item order, so the outcome never depends on the thread count.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `f(0..n)` on up to `threads` threads; the results in item order.
pub fn map<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 || n <= 1 {
        return (0..n).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let v = f(i);
                if let Ok(mut o) = out.lock() {
                    o[i] = Some(v);
                }
            });
        }
    });
    let out = match out.into_inner() {
        Ok(o) => o,
        Err(p) => p.into_inner(),
    };
    // Every slot is filled: each index was taken by exactly one thread. A panicking
    // closure propagates out of `scope` before this point.
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn order_is_kept_for_any_thread_count() {
        for t in [1, 2, 3, 8] {
            let v = super::map(100, t, |i| i * i);
            assert_eq!(v, (0..100).map(|i| i * i).collect::<Vec<_>>());
        }
        assert!(super::map(0, 4, |i| i).is_empty());
    }
}
