#![allow(clippy::unwrap_used)]
//! Node features and labels joined to an edge list: ids the table lacks, table rows
//! without edges, missing cells, one-class labels and duplicate ids.

use std::path::{Path, PathBuf};

use ledgerflow_gnn::edges::{read, ReadOptions};
use ledgerflow_gnn::nodes::{join, JoinReport};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn features_and_labels_join_with_documented_handling() {
    let d = tempfile::tempdir().unwrap();
    // edges a→b, b→c, c→d; the table knows b, c, d (d without x), and e (no edge)
    let e = write(d.path(), "e.csv", "source,target\na,b\nb,c\nc,d\n");
    let f = write(
        d.path(),
        "f.csv",
        "id,x,y,role\nb,1,10,mixer\nc,3,,user\nd,,30,\ne,5,40,user\n",
    );
    let mut edges = read(&e, &ReadOptions::default()).unwrap();
    let nd = join(&mut edges, &f, "id", Some("role"), &[]).unwrap();
    assert_eq!(nd.nodes, ["a", "b", "c", "d", "e"]);
    assert_eq!(
        edges.nodes, nd.nodes,
        "the isolated node is numbered in both"
    );
    assert_eq!(nd.names, ["x", "y", "has_features"]);
    // column means over present cells: x (1+3+5)/3 = 3, y (10+30+40)/3 = 26.67
    let ym = 80.0 / 3.0;
    assert_eq!(nd.row(0), [3.0, ym, 0.0], "a: no row, means");
    assert_eq!(nd.row(1), [1.0, 10.0, 1.0]);
    assert_eq!(nd.row(2), [3.0, ym, 1.0], "c: y filled");
    assert_eq!(nd.row(3), [3.0, 30.0, 1.0], "d: x filled");
    assert_eq!(nd.row(4), [5.0, 40.0, 1.0], "e: isolated");
    assert_eq!(nd.classes, ["mixer", "user"]);
    assert_eq!(nd.labels, [None, Some(0), Some(1), None, Some(1)]);
    assert_eq!(
        nd.report,
        JoinReport {
            without_features: 1,
            isolated: 1,
            filled_cells: 2,
            labelled: 3
        }
    );
    assert_eq!(edges.to_csr().node_count(), 5);

    // labels of one class only
    let f1 = write(d.path(), "one.csv", "id,x,role\nb,1,user\nc,2,user\n");
    let mut edges = read(&e, &ReadOptions::default()).unwrap();
    let err = join(&mut edges, &f1, "id", Some("role"), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("every label is \"user\""), "{err}");
    // without labels the same table is fine
    let mut edges = read(&e, &ReadOptions::default()).unwrap();
    let nd = join(&mut edges, &f1, "id", None, &["role".into()]).unwrap();
    assert!(nd.classes.is_empty() && nd.labels.iter().all(Option::is_none));
    // a duplicate id
    let f2 = write(d.path(), "dup.csv", "id,x\nb,1\nc,2\nb,3\n");
    let mut edges = read(&e, &ReadOptions::default()).unwrap();
    let err = join(&mut edges, &f2, "id", None, &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"b\" appears twice (data rows 1 and 3)"),
        "{err}"
    );
    // a text feature column is refused by name (the table loader's rule)
    let mut edges = read(&e, &ReadOptions::default()).unwrap();
    let err = join(&mut edges, &f, "id", None, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("role"), "{err}");
}
