//! The local services and tools the integration tests use (PostgreSQL, NATS, anvil,
//! litecoind, the Python peers): each test either finds what it needs or prints a visible
//! `skipped:` line and passes, unless the environment says the thing is required
//! (`LEDGERFLOW_REQUIRE_<WHAT>=1`, as the test command sets on CI machines): then a
//! missing one fails the test.

use std::fmt::Display;

/// The PostgreSQL server every development and CI machine runs.
pub const POSTGRES: &str = "postgres://root@127.0.0.1:5432";

/// Whether `LEDGERFLOW_REQUIRE_<what>` is `1`.
pub fn required(what: &str) -> bool {
    std::env::var(format!("LEDGERFLOW_REQUIRE_{what}")).is_ok_and(|v| v == "1")
}

/// `found`, or `None` after a `skipped: <test>: <why>` line; panics instead when
/// `LEDGERFLOW_REQUIRE_<what>=1`.
pub fn or_skip<T, E: Display>(test: &str, what: &str, found: Result<T, E>) -> Option<T> {
    match found {
        Ok(t) => Some(t),
        Err(e) => {
            if required(what) {
                panic!("{test}: {what} required (LEDGERFLOW_REQUIRE_{what}=1): {e}");
            }
            println!("skipped: {test}: {e}");
            None
        }
    }
}

/// The Python of a peer virtual environment (`.tools/<venv>/bin/python` in the repository,
/// made by `scripts/setup-peers.sh <peer>`), or `None` (see [`or_skip`]).
pub fn peer_python(test: &str, venv: &str, peer: &str, what: &str) -> Option<std::path::PathBuf> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let py = repo.join(".tools").join(venv).join("bin/python");
    let found = if py.exists() {
        Ok(py)
    } else {
        Err(format!("{venv} missing: run scripts/setup-peers.sh {peer}"))
    };
    or_skip(test, what, found)
}

/// Runs a peer's check script: `python script`, the JSON `input` on its stdin, its
/// stdout parsed as JSON. Panics (the test fails) with the script's stderr when it exits
/// non-zero or prints something else than JSON.
pub fn run_json(
    python: &std::path::Path,
    script: &str,
    input: &serde_json::Value,
) -> serde_json::Value {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let body = input.to_string();
    // write from another thread: a script that answers while reading cannot deadlock
    let writer = std::thread::spawn(move || stdin.write_all(body.as_bytes()));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    let written = writer.join().expect("writer thread");
    assert!(
        out.status.success(),
        "{script} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    written.unwrap_or_else(|e| panic!("{script}: writing its input: {e}"));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A connection to the server's `postgres` database, or `None` (see [`or_skip`], what:
/// `POSTGRES`).
pub async fn postgres_admin(test: &str) -> Option<tokio_postgres::Client> {
    let url = format!("{POSTGRES}/postgres");
    let connected = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .map(|(client, conn)| {
            tokio::spawn(async move {
                let _ = conn.await;
            });
            client
        })
        .map_err(|e| format!("no PostgreSQL at {POSTGRES} ({e})"));
    or_skip(test, "POSTGRES", connected)
}

/// A fresh, empty database `name` (dropped first if it exists); its URL, or `None` when
/// no server answers (see [`postgres_admin`]).
pub async fn fresh_postgres_db(test: &str, name: &str) -> Option<String> {
    let admin = postgres_admin(test).await?;
    for stmt in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        if let Err(e) = admin.batch_execute(&stmt).await {
            panic!("{test}: {stmt}: {e}");
        }
    }
    Some(format!("{POSTGRES}/{name}"))
}
