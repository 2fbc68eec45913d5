//! Union-find throughput on synthetic input lists, split into the union pass and the
//! labelling pass: `cargo run --release -p ledgerflow-entities --example union_find -- 10000000`.

use std::time::Instant;

use ledgerflow_entities::unionfind::UnionFind;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let (offsets, values) = ledgerflow_entities::synthetic::input_lists(1, n, n as u32);
    let t = Instant::now();
    let mut u = UnionFind::without_sizes(n);
    let mut links = 0u64;
    for w in offsets.windows(2) {
        links += u.union_all(&values[w[0] as usize..w[1] as usize]) as u64;
    }
    let union = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let ids = u.smallest_members();
    let label = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let par = ledgerflow_entities::unionfind::multi_input(&offsets, &values, n, 2);
    let p2 = t.elapsed().as_secs_f64();
    assert_eq!(par, ids);
    println!("2 threads: {p2:.4} s, {:.1} M tx/s", n as f64 / p2 / 1e6);
    println!(
        "{n} transactions, {} inputs, {links} links: union {union:.4} s, label {label:.4} s, {:.1} M tx/s, check {}",
        values.len(),
        n as f64 / (union + label) / 1e6,
        ids.iter().map(|&x| x as u64).sum::<u64>()
    );
}
