//! `ledgerflow graph …`.

use std::process::ExitCode;

use eyre::WrapErr;
use ledgerflow_core::BlockRange;
use ledgerflow_graph::algo::{self, Direction, PageRankOptions};
use ledgerflow_graph::store::replace_table;
use ledgerflow_graph::tables::*;
use ledgerflow_graph::{LakeGraph, Level};
use ledgerflow_lake::Lake;

use crate::args::{
    BetweennessArgs, DegreeArgs, DirectionArg, ExportGraphArgs, GraphArgs, GraphBuildArgs,
    GraphFormatArg, KhopArgs, LevelArg, PagerankArgs, PathArgs,
};

fn lake_of(path: &std::path::Path) -> eyre::Result<Lake> {
    if !path.is_dir() {
        eyre::bail!("no such lake folder: {}", path.display());
    }
    Ok(Lake::new(path))
}

fn level(l: LevelArg) -> Level {
    match l {
        LevelArg::Address => Level::Address,
        LevelArg::Entity => Level::Entity,
    }
}

/// Whether a chain folder holds a UTXO chain (its transactions have nested inputs).
fn is_utxo(lake: &Lake, chain: &str) -> eyre::Result<bool> {
    Ok(ledgerflow_entities::ledger::is_utxo(lake, chain)?)
}

pub async fn build(a: GraphBuildArgs) -> eyre::Result<ExitCode> {
    let lake = lake_of(&a.lake)?;
    ledgerflow_entities::ledger::check_chain(&lake, &a.chain)?;
    let chain = a.chain.clone();
    let token = a.token.as_ref().map(|t| t.to_lowercase());
    let no_ether = a.no_ether;
    let summary = tokio::task::spawn_blocking(move || -> eyre::Result<String> {
        let (addr_rows, entity_rows) = if is_utxo(&lake, &chain)? {
            if token.is_some() {
                eyre::bail!("--token is for EVM chains; {chain} is a UTXO chain");
            }
            let l = ledgerflow_entities::Ledger::load(
                &lake,
                &chain,
                None,
                ledgerflow_entities::ledger::AddressBook::default(),
            )?;
            let addr = ledgerflow_entities::graph::utxo_edges(&l, None);
            let pairs = ledgerflow_entities::build::read_pairs(
                &lake,
                &chain,
                "address_entity",
                "address_id",
                "entity_id",
            )?;
            if pairs.is_empty() {
                eyre::bail!(
                    "chain {chain} has no address_entity table: run `ledgerflow entities build \
                     --lake {} --chain {chain}` first (the entity graph joins addresses by it)",
                    lake.root().display()
                );
            }
            let mut entity_of: Vec<u32> = (0..l.book.len() as u32).collect();
            for (id, e) in pairs {
                if (id as usize) < entity_of.len() {
                    entity_of[id as usize] = e as u32;
                }
            }
            let ent = ledgerflow_entities::graph::utxo_edges(&l, Some(&entity_of));
            (addr, ent)
        } else {
            let o = ledgerflow_graph::evm::EvmGraphOptions {
                ether: !no_ether,
                token,
            };
            let addr = ledgerflow_graph::evm::evm_edges(&lake, &chain, &o)?;
            (addr.clone(), addr)
        };
        let mut out = Vec::new();
        for (lvl, rows) in [(Level::Address, &addr_rows), (Level::Entity, &entity_rows)] {
            let g = LakeGraph::from_rows(rows.to_vec());
            replace_table(
                &lake,
                &chain,
                &lvl.table("graph"),
                g.range,
                EdgeRow::to_batch(rows),
            )?;
            out.push(format!(
                "{}_graph: {} nodes, {} edges",
                lvl.name(),
                g.csr.node_count(),
                g.csr.edge_count()
            ));
        }
        Ok(format!("{chain}: {}", out.join("; ")))
    })
    .await
    .wrap_err("the graph task failed")??;
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

fn load(g: &GraphArgs) -> eyre::Result<(Lake, LakeGraph, Level)> {
    let lake = lake_of(&g.lake)?;
    ledgerflow_entities::ledger::check_chain(&lake, &g.chain)?;
    let lvl = level(g.level);
    let graph = LakeGraph::load(&lake, &g.chain, lvl)?;
    Ok((lake, graph, lvl))
}

/// The local node of an address: itself at address level; at entity level the entity
/// holding it (from `address_entity`, when the chain has one).
fn resolve(lake: &Lake, g: &GraphArgs, graph: &LakeGraph, name: &str) -> eyre::Result<u32> {
    if let Some(n) = graph.node(name) {
        return Ok(n);
    }
    if g.level == LevelArg::Entity {
        if let Ok(index) = ledgerflow_entities::why::address_index(lake, &g.chain) {
            if let Some(&(_, entity)) = index.get(name) {
                if let Some(pos) = graph.ids.iter().position(|&i| i == entity) {
                    return Ok(pos as u32);
                }
                eyre::bail!(
                    "address {name} (entity {entity}) has no edge in the entity graph of {}",
                    g.chain
                );
            }
        }
    }
    eyre::bail!(
        "address {name} is not a node of the {} graph of chain {}",
        level(g.level).name(),
        g.chain
    )
}

fn top(scores: &[f64], n: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx.truncate(n);
    idx
}

pub async fn pagerank(a: PagerankArgs) -> eyre::Result<ExitCode> {
    if !(0.0..1.0).contains(&a.alpha) {
        eyre::bail!("--alpha {} must lie in [0, 1)", a.alpha);
    }
    let (lake, g, lvl) = load(&a.g)?;
    let o = PageRankOptions {
        alpha: a.alpha,
        tol: a.tol,
        max_iter: a.max_iter,
        weighted: true,
        threads: crate::commands::threads_or_cores(a.threads),
    };
    let t = std::time::Instant::now();
    let w = algo::pagerank(&g.csr, &o);
    let secs = t.elapsed().as_secs_f64();
    let u = algo::pagerank(
        &g.csr,
        &PageRankOptions {
            weighted: false,
            ..o
        },
    );
    let order = top(&w.scores, g.names.len());
    let mut rank = vec![0i64; g.names.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r as i64 + 1;
    }
    let rows: Vec<PageRankRow> = (0..g.names.len())
        .map(|i| PageRankRow {
            node_id: g.ids[i],
            node: g.names[i].clone(),
            pagerank: w.scores[i],
            pagerank_unweighted: u.scores[i],
            rank: rank[i],
        })
        .collect();
    replace_table(
        &lake,
        &a.g.chain,
        &lvl.table("pagerank"),
        g.range,
        PageRankRow::to_batch(&rows),
    )?;
    let best: Vec<&PageRankRow> = order.iter().take(a.top).map(|&i| &rows[i]).collect();
    if a.g.json {
        let v = serde_json::json!({
            "nodes": g.names.len(), "edges": g.csr.edge_count(), "iterations": w.iterations,
            "converged": w.converged, "seconds": secs,
            "seconds_per_iteration": secs / w.iterations.max(1) as f64,
            "top": best.iter().map(|r| serde_json::json!({"rank": r.rank, "node_id": r.node_id,
                "node": r.node, "pagerank": r.pagerank, "pagerank_unweighted": r.pagerank_unweighted})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} {} graph: {} nodes, {} edges; {} iterations ({}), {:.3} s",
            a.g.chain,
            lvl.name(),
            g.names.len(),
            g.csr.edge_count(),
            w.iterations,
            if w.converged {
                "converged"
            } else {
                "NOT converged"
            },
            secs
        );
        for r in best {
            println!(
                "{:>4}  {:.6}  {:.6}  {} ({})",
                r.rank, r.pagerank, r.pagerank_unweighted, r.node, r.node_id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn degree(a: DegreeArgs) -> eyre::Result<ExitCode> {
    if let Some(p) = &a.plot {
        crate::plot::check_path(p)?;
    }
    let (lake, g, lvl) = load(&a.g)?;
    let d = algo::degrees(&g.csr);
    let rows: Vec<DegreeRow> = (0..g.names.len())
        .map(|i| DegreeRow {
            node_id: g.ids[i],
            node: g.names[i].clone(),
            in_degree: d[i].in_degree as i64,
            out_degree: d[i].out_degree as i64,
            in_value: d[i].in_weight,
            out_value: d[i].out_weight,
        })
        .collect();
    replace_table(
        &lake,
        &a.g.chain,
        &lvl.table("degrees"),
        g.range,
        DegreeRow::to_batch(&rows),
    )?;
    if let Some(p) = &a.plot {
        let ins: Vec<u64> = d.iter().map(|x| x.in_degree).collect();
        let outs: Vec<u64> = d.iter().map(|x| x.out_degree).collect();
        crate::plot::degree_distribution(
            p,
            &format!("{} {} graph: degree distribution", a.g.chain, lvl.name()),
            &ins,
            &outs,
        )?;
    }
    let scores: Vec<f64> = d.iter().map(|x| x.in_degree as f64).collect();
    let order = top(&scores, a.top);
    if a.g.json {
        let v: Vec<_> = order
            .iter()
            .map(|&i| {
                serde_json::json!({"node": rows[i].node, "node_id": rows[i].node_id,
                "in_degree": rows[i].in_degree, "out_degree": rows[i].out_degree,
                "in_value": rows[i].in_value, "out_value": rows[i].out_value})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} {} graph: {} nodes, {} edges",
            a.g.chain,
            lvl.name(),
            g.names.len(),
            g.csr.edge_count()
        );
        for &i in &order {
            let r = &rows[i];
            println!(
                "in {:>6}  out {:>6}  in value {:>20}  {}",
                r.in_degree, r.out_degree, r.in_value, r.node
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn components(a: GraphArgs) -> eyre::Result<ExitCode> {
    let (lake, g, lvl) = load(&a)?;
    let wcc = algo::weak_components(&g.csr);
    let scc = algo::strong_components(&g.csr);
    let size = |c: &[u32]| {
        let mut s = vec![0i64; c.len()];
        for &x in c {
            s[x as usize] += 1;
        }
        s
    };
    let (ws, ss) = (size(&wcc), size(&scc));
    let rows: Vec<ComponentRow> = (0..g.names.len())
        .map(|i| ComponentRow {
            node_id: g.ids[i],
            node: g.names[i].clone(),
            wcc: g.ids[wcc[i] as usize],
            wcc_size: ws[wcc[i] as usize],
            scc: g.ids[scc[i] as usize],
            scc_size: ss[scc[i] as usize],
        })
        .collect();
    replace_table(
        &lake,
        &a.chain,
        &lvl.table("components"),
        g.range,
        ComponentRow::to_batch(&rows),
    )?;
    let count = |s: &[i64]| s.iter().filter(|&&x| x > 0).count();
    let (nw, ns) = (count(&ws), count(&ss));
    let (lw, ls) = (
        ws.iter().max().copied().unwrap_or(0),
        ss.iter().max().copied().unwrap_or(0),
    );
    if a.json {
        println!(
            "{}",
            serde_json::json!({"nodes": g.names.len(), "weak": nw, "largest_weak": lw, "strong": ns, "largest_strong": ls})
        );
    } else {
        println!(
            "{} {} graph: {} nodes; {nw} weakly connected components (largest {lw}), {ns} strongly connected (largest {ls})",
            a.chain,
            lvl.name(),
            g.names.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn betweenness(a: BetweennessArgs) -> eyre::Result<ExitCode> {
    let (lake, g, lvl) = load(&a.g)?;
    let n = g.names.len();
    let sample = (a.samples > 0 && a.samples < n).then_some((a.samples, a.seed));
    let t = std::time::Instant::now();
    let b = algo::betweenness(&g.csr, sample);
    let secs = t.elapsed().as_secs_f64();
    let sources = sample.map(|s| s.0).unwrap_or(n) as i64;
    let seed = sample.map(|s| s.1 as i64).unwrap_or(0);
    let rows: Vec<BetweennessRow> = (0..n)
        .map(|i| BetweennessRow {
            node_id: g.ids[i],
            node: g.names[i].clone(),
            betweenness: b[i],
            sources,
            seed,
        })
        .collect();
    replace_table(
        &lake,
        &a.g.chain,
        &lvl.table("betweenness"),
        g.range,
        BetweennessRow::to_batch(&rows),
    )?;
    let order = top(&b, a.top);
    if a.g.json {
        let v: Vec<_> = order
            .iter()
            .map(|&i| serde_json::json!({"node": rows[i].node, "betweenness": rows[i].betweenness}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"sources": sources, "seconds": secs, "top": v})
        );
    } else {
        println!(
            "{} {} graph: betweenness from {} of {n} sources ({}), {secs:.3} s",
            a.g.chain,
            lvl.name(),
            sources,
            if sample.is_some() { "sampled" } else { "exact" }
        );
        for &i in &order {
            println!("{:.6}  {}", b[i], g.names[i]);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn khop(a: KhopArgs) -> eyre::Result<ExitCode> {
    let (lake, g, lvl) = load(&a.g)?;
    let mut seeds = Vec::new();
    for n in &a.nodes {
        seeds.push(resolve(&lake, &a.g, &g, n)?);
    }
    let dir = match a.direction {
        DirectionArg::Out => Direction::Out,
        DirectionArg::In => Direction::In,
        DirectionArg::Both => Direction::Both,
    };
    let found = algo::khop(&g.csr, &seeds, a.hops, dir);
    let label = a.nodes.join(",");
    let rows: Vec<KhopRow> = found
        .iter()
        .map(|&(v, h)| KhopRow {
            seeds: label.clone(),
            node_id: g.ids[v as usize],
            node: g.names[v as usize].clone(),
            hops: h as i64,
        })
        .collect();
    replace_table(
        &lake,
        &a.g.chain,
        &lvl.table("khop"),
        g.range,
        KhopRow::to_batch(&rows),
    )?;
    if a.g.json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| serde_json::json!({"node": r.node, "node_id": r.node_id, "hops": r.hops}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{} nodes within {} hops of {label}:", rows.len(), a.hops);
        for r in &rows {
            println!("{:>3}  {}", r.hops, r.node);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn path(a: PathArgs) -> eyre::Result<ExitCode> {
    let (lake, g, lvl) = load(&a.g)?;
    let from = resolve(&lake, &a.g, &g, &a.from)?;
    let to = resolve(&lake, &a.g, &g, &a.to)?;
    if from == to {
        eyre::bail!("--from and --to are the same {} node", lvl.name());
    }
    let mut rows = Vec::new();
    let mut shown = Vec::new();
    for (kind, p) in [
        ("shortest", algo::shortest_path(&g.csr, from, to)),
        ("widest", algo::widest_path(&g.csr, from, to)),
    ] {
        let Some(p) = p else {
            shown.push(format!("{kind}: no path from {} to {}", a.from, a.to));
            continue;
        };
        let names: Vec<&str> = p
            .nodes
            .iter()
            .map(|&v| g.names[v as usize].as_str())
            .collect();
        for (k, w) in p.weights.iter().enumerate() {
            rows.push(PathRow {
                kind: kind.into(),
                source: a.from.clone(),
                target: a.to.clone(),
                step: k as i64,
                src: names[k].to_string(),
                dst: names[k + 1].to_string(),
                value: *w,
            });
        }
        let bottleneck = p.weights.iter().cloned().fold(f64::INFINITY, f64::min);
        shown.push(format!(
            "{kind} ({} hops, smallest edge value {bottleneck}): {}",
            p.weights.len(),
            names.join(" -> ")
        ));
    }
    let range = BlockRange::new(g.range.start, g.range.end);
    replace_table(
        &lake,
        &a.g.chain,
        &lvl.table("paths"),
        range,
        PathRow::to_batch(&rows),
    )?;
    if a.g.json {
        let v: Vec<_> = rows.iter().map(|r| serde_json::json!({"kind": r.kind, "step": r.step, "src": r.src, "dst": r.dst, "value": r.value})).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for s in shown {
            println!("{s}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn export(a: ExportGraphArgs) -> eyre::Result<ExitCode> {
    let (_lake, g, lvl) = load(&a.g)?;
    let format = match a.format {
        GraphFormatArg::Neo4j => ledgerflow_graph::export::Format::Neo4j,
        GraphFormatArg::Graphml => ledgerflow_graph::export::Format::GraphMl,
        GraphFormatArg::Csv => ledgerflow_graph::export::Format::Csv,
    };
    let label = match lvl {
        Level::Address => "Address",
        Level::Entity => "Entity",
    };
    let files = ledgerflow_graph::export::export(&g, &a.output, format, label)?;
    for f in files {
        println!("{}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}
