//! Public labels of addresses: CSV (`address,category[,source][,confidence][,label]`)
//! and GraphSense TagPack YAML files, the `address_labels` table, and labels propagated
//! from addresses to their entities with conflicts reported.
//!
//! Categories are lower-cased and trimmed; EVM addresses (`0x…`) and upper-case bech32
//! addresses are lower-cased, other addresses kept as written (base58 is
//! case-sensitive).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::Array;
use ledgerflow_lake::reader::{for_each_batch, Columns};
use ledgerflow_lake::Lake;

use crate::error::EntityError;
use crate::tables::{AddressLabelRow, EntityLabelRow};

/// One label as read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub address: String,
    pub category: String,
    pub label: String,
    pub source: String,
    pub confidence: Option<f64>,
    pub file: String,
    /// TagPack `currency` (BTC, ETH, LTC, …), when given.
    pub currency: Option<String>,
}

fn bad(path: &Path, what: impl Into<String>) -> EntityError {
    EntityError::BadFile {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

/// The canonical text of an address.
pub fn normalise_address(a: &str) -> String {
    let a = a.trim();
    if a.starts_with("0x") || a.starts_with("0X") {
        return a.to_ascii_lowercase();
    }
    let upper =
        a.chars().any(|c| c.is_ascii_uppercase()) && !a.chars().any(|c| c.is_ascii_lowercase());
    if upper && a.contains('1') {
        // bech32 written in upper case (QR codes)
        return a.to_ascii_lowercase();
    }
    a.to_string()
}

fn normalise_category(c: &str) -> String {
    c.trim().to_ascii_lowercase()
}

fn confidence(s: &str, path: &Path, line: usize) -> Result<Option<f64>, EntityError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(Some(v)),
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(Some(v / 100.0)),
        _ => Err(bad(
            path,
            format!("line {line}: confidence {t:?} is not a number in [0, 1] (or a percentage)"),
        )),
    }
}

/// Reads a CSV file of labels: a header naming `address` and `category` (also
/// `label`, `source`, `confidence`; other columns ignored).
pub fn read_csv(path: &Path) -> Result<Vec<Label>, EntityError> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| bad(path, format!("cannot read: {e}")))?;
    let header = r
        .headers()
        .map_err(|e| bad(path, format!("no header row: {e}")))?
        .clone();
    let col = |n: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(n));
    let (Some(ia), Some(ic)) = (col("address"), col("category")) else {
        return Err(bad(
            path,
            format!(
                "the header must name `address` and `category` (it has: {})",
                header.iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    let (is, iconf, il) = (col("source"), col("confidence"), col("label"));
    let file = path.display().to_string();
    let mut out = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let line = k + 2;
        let rec = rec.map_err(|e| bad(path, format!("line {line}: {e}")))?;
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").trim();
        let address = get(Some(ia));
        let category = get(Some(ic));
        if address.is_empty() && category.is_empty() && rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if address.is_empty() {
            return Err(bad(path, format!("line {line}: empty address")));
        }
        if category.is_empty() {
            return Err(bad(
                path,
                format!("line {line}: empty category for {address}"),
            ));
        }
        let category = normalise_category(category);
        let label = match get(il) {
            "" => category.clone(),
            l => l.to_string(),
        };
        out.push(Label {
            address: normalise_address(address),
            category,
            label,
            source: get(is).to_string(),
            confidence: confidence(get(iconf), path, line)?,
            file: file.clone(),
            currency: None,
        });
    }
    Ok(out)
}

/// Reads a GraphSense TagPack (YAML): header fields (`category`, `source`,
/// `confidence`, `currency`, `label`, …) are inherited by every tag under `tags`, which
/// may override them. A tag needs an address and a category (its own or the header's).
pub fn read_tagpack(path: &Path) -> Result<Vec<Label>, EntityError> {
    use yaml_rust2::{Yaml, YamlLoader};
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, format!("cannot read: {e}")))?;
    let docs = YamlLoader::load_from_str(&text).map_err(|e| {
        bad(
            path,
            format!(
                "not YAML: {} (line {}, column {})",
                e.info(),
                e.marker().line(),
                e.marker().col() + 1
            ),
        )
    })?;
    let Some(doc) = docs.first() else {
        return Err(bad(path, "empty TagPack"));
    };
    let Some(map) = doc.as_hash() else {
        return Err(bad(path, "a TagPack is a mapping with a `tags` list"));
    };
    let text_of = |y: &Yaml| -> Option<String> {
        match y {
            Yaml::String(s) => Some(s.clone()),
            Yaml::Integer(i) => Some(i.to_string()),
            Yaml::Real(r) => Some(r.clone()),
            Yaml::Boolean(b) => Some(b.to_string()),
            _ => None,
        }
    };
    let field =
        |m: &yaml_rust2::yaml::Hash, k: &str| m.get(&Yaml::String(k.into())).and_then(text_of);
    let header: BTreeMap<&str, String> = ["category", "source", "confidence", "currency", "label"]
        .into_iter()
        .filter_map(|k| field(map, k).map(|v| (k, v)))
        .collect();
    let Some(tags) = map
        .get(&Yaml::String("tags".into()))
        .and_then(|t| t.as_vec())
    else {
        return Err(bad(path, "no `tags` list"));
    };
    let file = path.display().to_string();
    let mut out = Vec::new();
    for (k, t) in tags.iter().enumerate() {
        let Some(tm) = t.as_hash() else {
            return Err(bad(path, format!("tag {}: not a mapping", k + 1)));
        };
        let get = |key: &str| field(tm, key).or_else(|| header.get(key).cloned());
        let Some(address) = field(tm, "address") else {
            return Err(bad(path, format!("tag {}: no address", k + 1)));
        };
        let Some(category) = get("category") else {
            return Err(bad(
                path,
                format!(
                    "tag {} ({address}): no category (in the tag or the header)",
                    k + 1
                ),
            ));
        };
        let category = normalise_category(&category);
        // TagPack confidence is a number or a named level; named levels have no number.
        let conf = get("confidence")
            .and_then(|c| c.trim().parse::<f64>().ok())
            .map(|v| if v > 1.0 { v / 100.0 } else { v });
        out.push(Label {
            address: normalise_address(&address),
            label: get("label").unwrap_or_else(|| category.clone()),
            category,
            source: get("source").unwrap_or_default(),
            confidence: conf.filter(|v| (0.0..=1.0).contains(v)),
            file: file.clone(),
            currency: get("currency"),
        });
    }
    Ok(out)
}

/// Reads a label file: TagPack for `.yaml`/`.yml`, CSV otherwise.
pub fn read_file(path: &Path) -> Result<Vec<Label>, EntityError> {
    let yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let labels = if yaml {
        read_tagpack(path)?
    } else {
        read_csv(path)?
    };
    if labels.is_empty() {
        return Err(bad(path, "no labels in the file"));
    }
    Ok(labels)
}

/// Reads the lake's `address_labels` table (empty when there is none).
pub fn read_table(lake: &Lake, chain: &str) -> Result<Vec<AddressLabelRow>, EntityError> {
    if !lake.table_dir(chain, "address_labels").is_dir() {
        return Ok(Vec::new());
    }
    let (chunks, _) = lake.parquet_chunks(chain, "address_labels")?;
    let mut out = Vec::new();
    for c in chunks {
        let p: PathBuf = c.path.clone();
        for_each_batch(&p, Columns::All, None, |b| {
            let s = |n: &str| {
                b.column_by_name(n)
                    .and_then(|c| c.as_string_opt::<i32>())
                    .ok_or_else(|| bad(&p, format!("address_labels: no text column {n}")))
            };
            let i = |n: &str| {
                b.column_by_name(n)
                    .and_then(|c| c.as_primitive_opt::<Int64Type>())
                    .ok_or_else(|| bad(&p, format!("address_labels: no integer column {n}")))
            };
            let (a, cat, lab, src, file) = (
                s("address")?,
                s("category")?,
                s("label")?,
                s("source")?,
                s("file")?,
            );
            let conf = b
                .column_by_name("confidence")
                .and_then(|c| c.as_primitive_opt::<Float64Type>())
                .ok_or_else(|| bad(&p, "address_labels: no float column confidence"))?;
            let known = b
                .column_by_name("known")
                .and_then(|c| c.as_boolean_opt())
                .ok_or_else(|| bad(&p, "address_labels: no boolean column known"))?;
            let (aid, eid) = (i("address_id")?, i("entity_id")?);
            for r in 0..b.num_rows() {
                out.push(AddressLabelRow {
                    address: a.value(r).to_string(),
                    category: cat.value(r).to_string(),
                    label: lab.value(r).to_string(),
                    source: src.value(r).to_string(),
                    confidence: (!conf.is_null(r)).then(|| conf.value(r)),
                    file: file.value(r).to_string(),
                    known: known.value(r),
                    address_id: (!aid.is_null(r)).then(|| aid.value(r)),
                    entity_id: (!eid.is_null(r)).then(|| eid.value(r)),
                });
            }
            Ok::<(), EntityError>(())
        })?;
    }
    Ok(out)
}

/// One category per address: the one most of its labels give (ties: alphabetical),
/// plus the addresses whose labels disagree.
pub fn address_categories(rows: &[AddressLabelRow]) -> (BTreeMap<String, String>, Vec<String>) {
    let mut per: BTreeMap<&str, BTreeMap<&str, u32>> = BTreeMap::new();
    for r in rows {
        *per.entry(&r.address)
            .or_default()
            .entry(&r.category)
            .or_default() += 1;
    }
    let mut out = BTreeMap::new();
    let mut conflicts = Vec::new();
    for (a, cats) in per {
        if cats.len() > 1 {
            conflicts.push(a.to_string());
        }
        if let Some((c, _)) = cats.iter().max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0))) {
            out.insert(a.to_string(), c.to_string());
        }
    }
    (out, conflicts)
}

/// Labels propagated to entities: every entity with a labelled address, its majority
/// category, and whether its addresses disagree.
pub fn propagate(rows: &[AddressLabelRow]) -> Vec<EntityLabelRow> {
    let (cats, _) = address_categories(rows);
    let mut per: BTreeMap<i64, BTreeMap<String, (i64, Vec<&str>)>> = BTreeMap::new();
    let mut seen: BTreeMap<(i64, &str), ()> = BTreeMap::new();
    for r in rows {
        let Some(e) = r.entity_id else { continue };
        if seen.insert((e, r.address.as_str()), ()).is_some() {
            continue;
        }
        let Some(c) = cats.get(&r.address) else {
            continue;
        };
        let slot = per.entry(e).or_default().entry(c.clone()).or_default();
        slot.0 += 1;
        slot.1.push(&r.address);
    }
    per.into_iter()
        .map(|(e, cats)| {
            let total: i64 = cats.values().map(|v| v.0).sum();
            let (best, n) = cats
                .iter()
                .max_by(|x, y| x.1 .0.cmp(&y.1 .0).then(y.0.cmp(x.0)))
                .map(|(c, v)| (c.clone(), v.0))
                .unwrap_or_default();
            EntityLabelRow {
                entity_id: e,
                category: best,
                labelled_addresses: total,
                categories: cats
                    .iter()
                    .map(|(c, v)| format!("{c}:{}", v.0))
                    .collect::<Vec<_>>()
                    .join(","),
                conflict: cats.len() > 1,
                agreement: n as f64 / total.max(1) as f64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(a: &str, c: &str, e: Option<i64>) -> AddressLabelRow {
        AddressLabelRow {
            address: a.into(),
            category: c.into(),
            label: c.into(),
            source: "s".into(),
            confidence: None,
            file: "f".into(),
            known: e.is_some(),
            address_id: None,
            entity_id: e,
        }
    }

    #[test]
    fn files_parse_and_bad_lines_are_named() {
        let d = tempfile::tempdir().unwrap();
        let csv = d.path().join("l.csv");
        std::fs::write(
            &csv,
            "address,category,source,confidence\n0xAbC,Exchange,web,0.9\nbc1q,mixer,,\n",
        )
        .unwrap();
        let l = read_file(&csv).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].address, "0xabc");
        assert_eq!(l[0].category, "exchange");
        assert_eq!(l[0].confidence, Some(0.9));
        assert_eq!(l[1].confidence, None);
        std::fs::write(&csv, "address,category\nx,\n").unwrap();
        let e = read_file(&csv).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("empty category"), "{e}");
        std::fs::write(&csv, "address,category,confidence\nx,y,high\n").unwrap();
        assert!(read_file(&csv).unwrap_err().to_string().contains("line 2"));
        std::fs::write(&csv, "addr,cat\n").unwrap();
        assert!(read_file(&csv)
            .unwrap_err()
            .to_string()
            .contains("`address`"));
        std::fs::write(&csv, "address,category\n").unwrap();
        assert!(read_file(&csv)
            .unwrap_err()
            .to_string()
            .contains("no labels"));

        let y = d.path().join("t.yaml");
        std::fs::write(
            &y,
            "title: Example\ncreator: me\ncategory: exchange\nsource: https://x\ncurrency: BTC\ntags:\n  - address: 1Archive1n2C579dMsAu3iC6tWzuQJz8dN\n    label: Internet Archive\n    category: organization\n  - address: BC1QXYZ1\n    confidence: 80\n",
        )
        .unwrap();
        let t = read_file(&y).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].category, "organization");
        assert_eq!(t[0].label, "Internet Archive");
        assert_eq!(t[1].category, "exchange");
        assert_eq!(t[1].address, "bc1qxyz1");
        assert_eq!(t[1].confidence, Some(0.8));
        assert_eq!(t[1].currency.as_deref(), Some("BTC"));
        std::fs::write(&y, "tags:\n  - label: x\n").unwrap();
        assert!(read_file(&y)
            .unwrap_err()
            .to_string()
            .contains("no address"));
        std::fs::write(&y, "tags: [\n").unwrap();
        assert!(read_file(&y).unwrap_err().to_string().contains("not YAML"));
    }

    #[test]
    fn entities_take_the_majority_and_conflicts_are_reported() {
        let rows = vec![
            row("a", "exchange", Some(1)),
            row("b", "exchange", Some(1)),
            row("c", "mixer", Some(1)),
            row("d", "miner", Some(7)),
            row("d", "miner", Some(7)),
            row("z", "mixer", None),
        ];
        let e = propagate(&rows);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].entity_id, 1);
        assert_eq!(e[0].category, "exchange");
        assert!(e[0].conflict);
        assert_eq!(e[0].categories, "exchange:2,mixer:1");
        assert!((e[0].agreement - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(e[1].labelled_addresses, 1);
        assert!(!e[1].conflict);
        let (cats, conflicts) = address_categories(&[row("q", "b", None), row("q", "a", None)]);
        assert_eq!(cats["q"], "a");
        assert_eq!(conflicts, vec!["q".to_string()]);
    }
}
