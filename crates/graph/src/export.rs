//! Files for graph databases and tools: Neo4j's bulk-import CSV (`neo4j-admin database
//! import full --nodes=nodes.csv --relationships=relationships.csv`), GraphML, plain CSV.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ledgerflow_core::table::civil_from_days;
use ledgerflow_lake::writer::write_bytes_atomic;

use crate::error::GraphError;
use crate::store::LakeGraph;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `nodes.csv` + `relationships.csv` with Neo4j's typed headers.
    Neo4j,
    /// One `graph.graphml` file.
    GraphMl,
    /// `nodes.csv` + `edges.csv`.
    Csv,
}

/// ISO-8601 UTC time of a Unix second.
pub fn iso(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes the graph into `dir` (created); returns the files written. `label` is the node
/// label (`Address`, `Entity`).
pub fn export(
    g: &LakeGraph,
    dir: &Path,
    format: Format,
    label: &str,
) -> Result<Vec<PathBuf>, GraphError> {
    std::fs::create_dir_all(dir).map_err(|source| GraphError::Io {
        op: "create",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    let mut put = |name: &str, text: String| -> Result<(), GraphError> {
        let p = dir.join(name);
        write_bytes_atomic(&p, text.as_bytes())?;
        files.push(p);
        Ok(())
    };
    match format {
        Format::Neo4j | Format::Csv => {
            let neo = format == Format::Neo4j;
            let mut nodes = String::new();
            nodes.push_str(if neo {
                "node_id:ID,address,:LABEL\n"
            } else {
                "node_id,address\n"
            });
            for (id, name) in g.ids.iter().zip(&g.names) {
                if neo {
                    let _ = writeln!(nodes, "{id},{},{label}", csv_field(name));
                } else {
                    let _ = writeln!(nodes, "{id},{}", csv_field(name));
                }
            }
            let mut rels = String::new();
            rels.push_str(if neo {
                ":START_ID,:END_ID,value:double,tx_count:long,first_block:long,last_block:long,first_seen:datetime,last_seen:datetime,:TYPE\n"
            } else {
                "src_id,dst_id,value,tx_count,first_block,last_block,first_seen,last_seen\n"
            });
            for e in &g.edges {
                let _ = write!(
                    rels,
                    "{},{},{},{},{},{},{},{}",
                    e.src_id,
                    e.dst_id,
                    e.value,
                    e.tx_count,
                    e.first_block,
                    e.last_block,
                    iso(e.first_seen.0),
                    iso(e.last_seen.0)
                );
                rels.push_str(if neo { ",SENT\n" } else { "\n" });
            }
            put("nodes.csv", nodes)?;
            put(
                if neo {
                    "relationships.csv"
                } else {
                    "edges.csv"
                },
                rels,
            )?;
        }
        Format::GraphMl => {
            let mut s = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n\
                 <key id=\"address\" for=\"node\" attr.name=\"address\" attr.type=\"string\"/>\n\
                 <key id=\"value\" for=\"edge\" attr.name=\"value\" attr.type=\"double\"/>\n\
                 <key id=\"tx_count\" for=\"edge\" attr.name=\"tx_count\" attr.type=\"long\"/>\n\
                 <key id=\"first_block\" for=\"edge\" attr.name=\"first_block\" attr.type=\"long\"/>\n\
                 <key id=\"last_block\" for=\"edge\" attr.name=\"last_block\" attr.type=\"long\"/>\n\
                 <graph id=\"G\" edgedefault=\"directed\">\n",
            );
            for (id, name) in g.ids.iter().zip(&g.names) {
                let _ = writeln!(
                    s,
                    "<node id=\"n{id}\"><data key=\"address\">{}</data></node>",
                    xml(name)
                );
            }
            for e in &g.edges {
                let _ = writeln!(
                    s,
                    "<edge source=\"n{}\" target=\"n{}\"><data key=\"value\">{}</data><data key=\"tx_count\">{}</data><data key=\"first_block\">{}</data><data key=\"last_block\">{}</data></edge>",
                    e.src_id, e.dst_id, e.value, e.tx_count, e.first_block, e.last_block
                );
            }
            s.push_str("</graph>\n</graphml>\n");
            put("graph.graphml", s)?;
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_times() {
        assert_eq!(super::iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::iso(1_535_782_200), "2018-09-01T06:10:00Z");
    }
}
