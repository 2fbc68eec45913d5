//! Neighbourhood signatures: each node's k-hop neighbourhood described by its
//! Weisfeiler-Lehman subtree label counts ([`crate::wl`]), for a similar-neighbourhood
//! search (`ledgerflow similar`) and as fixed-width features for the tree models
//! (`ledgerflow gnn wl`).
//!
//! - **Node labels** (round 0): the address kind read from its form (`p2pkh`, `p2sh`,
//!   `p2wpkh`, `p2wsh`, `p2tr`, `account` for `0x…`, `other`), the in- and out-degree
//!   buckets `⌊log2(1 + d)⌋` and the received-value bucket `⌊log10(1 + v)⌋` (base units),
//!   joined into one text label. The kind is a reading of the address's prefix and
//!   length (mainnet, testnet and regtest forms of Bitcoin and Litecoin), not of the
//!   script itself.
//! - **Signature**: labels refined `rounds` times over the whole graph (so a label sees
//!   `rounds` hops), counted over the node's `hops`-hop neighbourhood, every round.
//! - **Similarity**: the normalised WL subtree kernel `k(a, b) / √(k(a, a) k(b, b))`.
//! - **Features**: the counts hashed into `dim` columns (label id modulo `dim`), divided
//!   by the neighbourhood's size and rounds, so neighbourhoods of any size compare.

use std::collections::BTreeMap;

use crate::dense::Mat;
use crate::edges::EdgeList;
use crate::wl::{self, Dictionary, LabelledGraph};

/// The address kind as its text form suggests (see the module notes).
pub fn address_kind(a: &str) -> &'static str {
    let lower = a.to_ascii_lowercase();
    if lower.starts_with("0x") && a.len() == 42 {
        return "account";
    }
    for hrp in ["bc1", "tb1", "bcrt1", "ltc1", "tltc1", "rltc1"] {
        if let Some(rest) = lower.strip_prefix(hrp) {
            return match (rest.chars().next(), rest.len()) {
                (Some('q'), 39) => "p2wpkh",
                (Some('q'), 59) => "p2wsh",
                (Some('p'), _) => "p2tr",
                _ => "other",
            };
        }
    }
    match a.chars().next() {
        Some('1' | 'm' | 'n' | 'L') if (26..=35).contains(&a.len()) => "p2pkh",
        Some('3' | '2' | 'M' | 'Q') if (26..=35).contains(&a.len()) => "p2sh",
        _ => "other",
    }
}

fn bucket2(x: f64) -> u32 {
    (1.0 + x).log2().floor().max(0.0) as u32
}

fn bucket10(x: f64) -> u32 {
    (1.0 + x).log10().floor().max(0.0) as u32
}

/// The round-0 label of every node of `el`.
pub fn node_labels(el: &EdgeList) -> Vec<String> {
    let n = el.nodes.len();
    let (mut ind, mut outd, mut recv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for i in 0..el.len() {
        let (a, b) = (el.src[i] as usize, el.dst[i] as usize);
        outd[a] += 1.0;
        ind[b] += 1.0;
        recv[b] += el.weight[i].max(0.0);
    }
    (0..n)
        .map(|v| {
            format!(
                "{}/i{}/o{}/v{}",
                address_kind(&el.nodes[v]),
                bucket2(ind[v]),
                bucket2(outd[v]),
                bucket10(recv[v])
            )
        })
        .collect()
}

/// Every node's signature: sparse (label id, count) in label order.
pub fn signatures(el: &EdgeList, rounds: usize, hops: usize) -> Vec<Vec<(u32, u64)>> {
    let g = LabelledGraph::new(node_labels(el), &el.src, &el.dst);
    let mut dict = Dictionary::default();
    let r = wl::refine(&g, rounds, &mut dict);
    (0..g.adj.len() as u32)
        .map(|v| {
            let hood = wl::k_hop(&g, v, hops);
            let h: BTreeMap<u32, u64> = wl::histogram(&r, hood.into_iter());
            h.into_iter().collect()
        })
        .collect()
}

fn dot(a: &[(u32, u64)], b: &[(u32, u64)]) -> f64 {
    let (mut i, mut j, mut s) = (0, 0, 0u64);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    s as f64
}

/// The normalised WL kernel of two signatures (1 for equal neighbourhoods).
pub fn similarity(a: &[(u32, u64)], b: &[(u32, u64)]) -> f64 {
    let d = (dot(a, a) * dot(b, b)).sqrt();
    if d == 0.0 {
        0.0
    } else {
        dot(a, b) / d
    }
}

/// The `top` nodes most like node `q` (itself left out), best first, ties by number.
pub fn most_similar(sigs: &[Vec<(u32, u64)>], q: usize, top: usize) -> Vec<(usize, f64)> {
    let mut all: Vec<(usize, f64)> = (0..sigs.len())
        .filter(|&v| v != q)
        .map(|v| (v, similarity(&sigs[q], &sigs[v])))
        .collect();
    all.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    all.truncate(top);
    all
}

/// The signatures as `dim` hashed, size-normalised columns (see the module notes).
pub fn hashed(sigs: &[Vec<(u32, u64)>], dim: usize) -> Mat {
    let dim = dim.max(1);
    let mut x = Mat::zeros(sigs.len(), dim);
    for (v, s) in sigs.iter().enumerate() {
        let total: u64 = s.iter().map(|p| p.1).sum();
        let row = x.row_mut(v);
        for &(label, c) in s {
            row[label as usize % dim] += c as f64;
        }
        if total > 0 {
            for r in row.iter_mut() {
                *r /= total as f64;
            }
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_kinds_by_form() {
        assert_eq!(address_kind("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"), "p2pkh");
        assert_eq!(address_kind("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"), "p2pkh");
        assert_eq!(address_kind("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"), "p2sh");
        assert_eq!(
            address_kind("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
            "p2wpkh"
        );
        assert_eq!(
            address_kind("bcrt1qqlxxeyqj0ka4kqpzajv27l8px06neuqcwxg62e"),
            "p2wpkh"
        );
        assert_eq!(
            address_kind("bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"),
            "p2tr"
        );
        assert_eq!(
            address_kind("0xde0B295669a9FD93d5F28D9Ec85E40f4cb697BAe"),
            "account"
        );
        assert_eq!(address_kind("n17"), "other");
    }

    /// Two identical stars and a path: the star centres are each other's best match.
    #[test]
    fn equal_neighbourhoods_are_most_similar() {
        let nodes: Vec<String> = (0..12).map(|i| format!("n{i}")).collect();
        // star A: 0 -> 1,2,3 ; star B: 4 -> 5,6,7 ; path 8-9-10-11
        let src = vec![0, 0, 0, 4, 4, 4, 8, 9, 10];
        let dst = vec![1, 2, 3, 5, 6, 7, 9, 10, 11];
        let m = src.len();
        let el = EdgeList {
            nodes,
            src,
            dst,
            weight: vec![1.0; m],
            ..EdgeList::default()
        };
        let sigs = signatures(&el, 2, 1);
        assert!((similarity(&sigs[0], &sigs[4]) - 1.0).abs() < 1e-12);
        let top = most_similar(&sigs, 0, 3);
        assert_eq!(top[0].0, 4);
        assert!(top[0].1 > top[1].1);
        let x = hashed(&sigs, 8);
        assert_eq!(x.row(0), x.row(4));
        assert!((x.row(9).iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
