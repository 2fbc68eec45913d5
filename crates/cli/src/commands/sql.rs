//! `ledgerflow sql` and `ledgerflow shell`: SQL over the lake.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use eyre::WrapErr;
use ledgerflow_sql::text::{is_complete, split_statements};
use ledgerflow_sql::{Engine, Format, Options};

use crate::args::SqlArgs;

pub async fn run(a: SqlArgs, force_shell: bool) -> eyre::Result<ExitCode> {
    let options = Options {
        aliases: a.datasets.clone(),
        partitions: a.partitions,
        ..Options::default()
    };
    let engine = Engine::open(&a.lake, &options).await?;
    let mut script = String::new();
    if let Some(q) = &a.query {
        script.push_str(q);
        script.push_str("\n;\n");
    }
    for f in &a.file {
        let text = std::fs::read_to_string(f)
            .wrap_err_with(|| format!("cannot read the SQL file {}", f.display()))?;
        script.push_str(&text);
        script.push_str("\n;\n");
    }
    if force_shell || (script.trim().is_empty() && std::io::stdin().is_terminal()) {
        return shell(&engine, &a).await;
    }
    if script.trim().is_empty() {
        std::io::stdin()
            .read_to_string(&mut script)
            .wrap_err("cannot read statements from standard input")?;
    }
    let statements = split_statements(&script);
    if statements.is_empty() {
        eyre::bail!("no SQL statement given (QUERY, --file or standard input)");
    }
    let n = statements.len();
    for (i, stmt) in statements.iter().enumerate() {
        let last = i + 1 == n;
        let context = || {
            if n > 1 {
                format!("statement {} of {n}", i + 1)
            } else {
                "query".to_string()
            }
        };
        let started = Instant::now();
        let df = engine.sql(stmt).await.wrap_err_with(context)?;
        let (format, output) = if last {
            (a.format, a.output.as_deref())
        } else if a.format == Format::Parquet {
            (Format::Table, None)
        } else {
            (a.format, None)
        };
        let written = ledgerflow_sql::output::write(df, format, output)
            .await
            .wrap_err_with(context)?;
        if a.timing {
            eprintln!(
                "{} rows in {:.3} s",
                written.rows,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

const HELP: &str = "\
Statements end with ';' and may span lines. Commands:
  \\d              list datasets, tables and views
  \\d NAME         columns of a table or view
  \\format FORMAT  table, csv or json
  \\timing         toggle statement timing
  \\q              quit (also Ctrl-D)
Views: double_entry_book, balances, daily_balances, token_double_entry_book (EVM).
Functions: wei_to_eth, sat_to_coin, token_amount, hex_to_bytes, bytes_to_hex,
normalize_address.";

fn history_path(a: &SqlArgs) -> Option<PathBuf> {
    a.history
        .clone()
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ledgerflow_history")))
}

async fn shell(engine: &Engine, a: &SqlArgs) -> eyre::Result<ExitCode> {
    use rustyline::error::ReadlineError;
    let mut rl = rustyline::DefaultEditor::new().wrap_err("cannot start the line editor")?;
    let history = history_path(a);
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    let mut format = if a.format == Format::Parquet {
        Format::Table
    } else {
        a.format
    };
    let mut timing = a.timing;
    println!(
        "ledgerflow SQL over {} ({} datasets, {} tables and views). \\? for help, \\q to quit.",
        a.lake.display(),
        engine.datasets().len(),
        engine.relations().len()
    );
    let mut buf = String::new();
    loop {
        let prompt = if buf.is_empty() {
            "ledgerflow> "
        } else {
            "        ..> "
        };
        let line = match tokio::task::block_in_place(|| rl.readline(prompt)) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => {
                buf.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).wrap_err("reading a line"),
        };
        let trimmed = line.trim();
        if buf.is_empty() && trimmed.starts_with('\\') {
            let _ = rl.add_history_entry(trimmed);
            let mut parts = trimmed.splitn(2, char::is_whitespace);
            let cmd = parts.next().unwrap_or("");
            let arg = parts.next().map(str::trim).filter(|s| !s.is_empty());
            match (cmd, arg) {
                ("\\q", _) => break,
                ("\\?" | "\\h" | "\\help", _) => println!("{HELP}"),
                ("\\d", None) => list(engine),
                ("\\d", Some(name)) => match engine.describe(name.trim_end_matches(';')).await {
                    Ok(schema) => {
                        for f in schema.fields() {
                            println!(
                                "  {:<32} {}{}",
                                f.name(),
                                f.data_type(),
                                if f.is_nullable() { "" } else { " NOT NULL" }
                            );
                        }
                    }
                    Err(e) => eprintln!("error: {e}"),
                },
                ("\\timing", _) => {
                    timing = !timing;
                    println!("timing {}", if timing { "on" } else { "off" });
                }
                ("\\format", Some(f)) => match f.parse::<Format>() {
                    Ok(Format::Parquet) => eprintln!("error: parquet needs a file; use `ledgerflow sql --format parquet --output FILE`"),
                    Ok(f) => format = f,
                    Err(e) => eprintln!("error: {e}"),
                },
                _ => eprintln!("error: unknown command {trimmed} (\\? for help)"),
            }
            continue;
        }
        if matches!(trimmed, "quit" | "exit") && buf.is_empty() {
            break;
        }
        if trimmed.is_empty() && buf.is_empty() {
            continue;
        }
        buf.push_str(&line);
        buf.push('\n');
        if !is_complete(&buf) {
            continue;
        }
        let _ = rl.add_history_entry(buf.trim_end());
        for stmt in split_statements(&buf) {
            let started = Instant::now();
            let result = match engine.sql(&stmt).await {
                Ok(df) => ledgerflow_sql::output::write(df, format, None).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(w) if timing => eprintln!(
                    "{} rows in {:.3} s",
                    w.rows,
                    started.elapsed().as_secs_f64()
                ),
                Ok(_) => {}
                Err(e) => eprintln!("error: {e}"),
            }
        }
        buf.clear();
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(ExitCode::SUCCESS)
}

fn list(engine: &Engine) {
    let mut out = std::io::stdout().lock();
    for d in engine.datasets() {
        let aliases = if d.aliases.is_empty() {
            String::new()
        } else {
            format!(" (also {})", d.aliases.join(", "))
        };
        let _ = writeln!(
            out,
            "{}{aliases}: folder {}, {:?}",
            d.name, d.folder, d.family
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<44} {:<5} {:>7}  blocks", "name", "kind", "chunks");
    for r in engine.relations() {
        let blocks = r
            .blocks
            .map(|(s, e)| format!("{s}..{e}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<44} {:<5} {:>7}  {blocks}",
            r.name, r.kind, r.chunks
        );
    }
    for (v, e) in engine.view_errors() {
        let _ = writeln!(out, "view {v} unavailable: {e}");
    }
}
