//! A local anvil node: find the binary, start it on a free port, wait until it answers,
//! stop it when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::DevnetError;

/// Where `scripts/setup.sh` installs anvil, relative to the repository root.
pub const TOOLS_ANVIL: &str = ".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";

/// anvil's well-known development keys (accounts 0..=6 of its default mnemonic), hex
/// without `0x`: the demo, the benchmarks and the tests sign with them.
pub const DEV_KEYS: [&str; 7] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
];

/// Finds anvil: `explicit`, then `LEDGERFLOW_ANVIL`, then `.tools/` in the current folder
/// or any parent (the repository), then `anvil` on `PATH`.
pub fn find_anvil(explicit: Option<&Path>) -> Result<PathBuf, DevnetError> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(DevnetError::AnvilNotFound {
                looked: vec![p.to_path_buf()],
            })
        };
    }
    let mut looked = Vec::new();
    if let Some(p) = std::env::var_os("LEDGERFLOW_ANVIL").map(PathBuf::from) {
        if p.is_file() {
            return Ok(p);
        }
        looked.push(p);
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    roots.extend(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(Path::to_path_buf),
    );
    for r in roots {
        let p = r.join(TOOLS_ANVIL);
        if p.is_file() {
            return Ok(p);
        }
        looked.push(p);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&paths) {
            let p = d.join("anvil");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    looked.push(PathBuf::from("anvil (on PATH)"));
    Err(DevnetError::AnvilNotFound { looked })
}

/// A running anvil process; killed on drop.
pub struct Anvil {
    child: tokio::process::Child,
    port: u16,
}

/// Settings of an anvil node.
#[derive(Debug, Clone)]
pub struct AnvilOptions {
    /// Port (0 picks a free one).
    pub port: u16,
    /// Genesis timestamp.
    pub timestamp: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Mine only on `evm_mine` (the workload's mode).
    pub no_mining: bool,
}

impl Default for AnvilOptions {
    fn default() -> Self {
        AnvilOptions {
            port: 0,
            timestamp: 1_700_000_000,
            gas_limit: 60_000_000,
            no_mining: true,
        }
    }
}

fn free_port() -> Result<u16, DevnetError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| DevnetError::Io {
        what: "pick a free port".into(),
        source: e,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| DevnetError::Io {
            what: "pick a free port".into(),
            source: e,
        })
}

impl Anvil {
    /// Starts anvil and waits (up to 30 s) until it answers `eth_chainId`.
    pub async fn start(bin: &Path, opts: &AnvilOptions) -> Result<Anvil, DevnetError> {
        let port = if opts.port == 0 {
            free_port()?
        } else {
            opts.port
        };
        let mut cmd = tokio::process::Command::new(bin);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--auto-impersonate",
                "--order",
                "fifo",
                "--balance",
                "10000000",
            ])
            .args([
                "--gas-limit",
                &opts.gas_limit.to_string(),
                "--timestamp",
                &opts.timestamp.to_string(),
            ])
            .args(["--chain-id", "31337"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if opts.no_mining {
            cmd.arg("--no-mining");
        }
        let child = cmd.spawn().map_err(|e| DevnetError::Io {
            what: format!("start {}", bin.display()),
            source: e,
        })?;
        let mut anvil = Anvil { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::new();
        loop {
            if let Ok(Some(status)) = anvil.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = anvil.child.stderr.take() {
                    use tokio::io::AsyncReadExt;
                    let _ = e.read_to_string(&mut err).await;
                }
                return Err(DevnetError::AnvilExited {
                    status: status.to_string(),
                    stderr: err,
                });
            }
            let ok = client
                .post(anvil.url())
                .header("content-type", "application/json")
                .body(r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ok {
                return Ok(anvil);
            }
            if Instant::now() > deadline {
                return Err(DevnetError::AnvilTimeout { port });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the node.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
