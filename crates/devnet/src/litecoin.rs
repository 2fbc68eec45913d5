//! A local Litecoin Core (`litecoind`, a Bitcoin Core 0.21 fork) in regtest, and a seeded
//! UTXO workload that builds and signs its own transactions through the raw-transaction
//! RPCs (`signrawtransactionwithkey` + `sendrawtransaction`, batched per block; the wallet
//! is disabled): many entities, payments with change, multi-input consolidations,
//! P2PKH / P2SH-P2WPKH / P2WPKH outputs, CoinJoin-shaped transactions, peel chains and
//! fan-outs. The ground truth (which entity owns which address) is returned and can be
//! written to a file, for grading address clustering later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledgerflow_bitcoin::address::base58check;
use ledgerflow_bitcoin::hash::{parse_hash, sha256, to_hex};
use ledgerflow_rpc::{Request, RpcClient, RpcConfig};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use serde_json::{json, Value};

use crate::DevnetError;

/// RPC user and password of the nodes this module starts.
pub const RPC_USER: &str = "ledgerflow";
/// See [`RPC_USER`].
pub const RPC_PASSWORD: &str = "ledgerflow";

/// Finds `litecoind`: `explicit`, `LEDGERFLOW_LITECOIND`, then `PATH` (Debian installs it in
/// `/usr/bin`).
pub fn find_litecoind(explicit: Option<&Path>) -> Result<PathBuf, DevnetError> {
    let mut looked = Vec::new();
    let candidates: Vec<PathBuf> = explicit
        .map(Path::to_path_buf)
        .into_iter()
        .chain(std::env::var_os("LEDGERFLOW_LITECOIND").map(PathBuf::from))
        .chain(
            std::env::var_os("PATH")
                .map(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join("litecoind"))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        )
        .collect();
    for c in candidates {
        if c.is_file() {
            return Ok(c);
        }
        looked.push(c);
    }
    Err(DevnetError::Workload(format!(
        "litecoind not found (run scripts/setup.sh, or set LEDGERFLOW_LITECOIND); looked at: {}",
        looked
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// A running `litecoind -regtest`; killed on drop (use [`Litecoind::stop`] for a clean
/// shutdown that flushes the block files).
pub struct Litecoind {
    child: Option<tokio::process::Child>,
    /// RPC port on 127.0.0.1.
    pub port: u16,
    /// The data directory (`<datadir>/regtest/blocks/blk*.dat`).
    pub datadir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    client: Arc<RpcClient>,
}

fn free_port() -> Result<u16, DevnetError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| DevnetError::Io {
        what: "find a free port".into(),
        source: e,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| DevnetError::Io {
            what: "find a free port".into(),
            source: e,
        })
}

impl Litecoind {
    /// Starts a node on `port` (0: a free one) with `datadir` (None: a temporary folder
    /// removed on drop) and waits until its RPC answers.
    pub async fn start(
        binary: Option<&Path>,
        port: u16,
        datadir: Option<&Path>,
    ) -> Result<Litecoind, DevnetError> {
        if port != 0 {
            return Self::start_on(binary, port, datadir).await;
        }
        // a free port can be taken by another process before the node binds it: try again
        let mut last = None;
        for _ in 0..3 {
            match Self::start_on(binary, free_port()?, datadir).await {
                Ok(n) => return Ok(n),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| DevnetError::Workload("litecoind did not start".into())))
    }

    async fn start_on(
        binary: Option<&Path>,
        port: u16,
        datadir: Option<&Path>,
    ) -> Result<Litecoind, DevnetError> {
        let bin = find_litecoind(binary)?;
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Err(DevnetError::Workload(format!(
                "port {port} is already in use (another node?); pick another --port"
            )));
        }
        let (tmp, dir) = match datadir {
            Some(d) => (None, d.to_path_buf()),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("ledgerflow-ltc-")
                    .tempdir()
                    .map_err(|e| DevnetError::Io {
                        what: "create a temporary data directory".into(),
                        source: e,
                    })?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        std::fs::create_dir_all(&dir).map_err(|e| DevnetError::Io {
            what: format!("create {}", dir.display()),
            source: e,
        })?;
        let conf = format!(
            "regtest=1\nserver=1\ntxindex=1\nlisten=0\ndnsseed=0\ndisablewallet=1\nfallbackfee=0.0001\nrpcthreads=8\nrpcworkqueue=256\nrpcservertimeout=5\nprinttoconsole=0\n\
             [regtest]\nrpcbind=127.0.0.1\nrpcallowip=127.0.0.1\nrpcport={port}\nrpcuser={RPC_USER}\nrpcpassword={RPC_PASSWORD}\n\
             vbparams=mweb:9999999999:9999999999\n"
        );
        let conf_path = dir.join("litecoin.conf");
        std::fs::write(&conf_path, conf).map_err(|e| DevnetError::Io {
            what: format!("write {}", conf_path.display()),
            source: e,
        })?;
        let mut child = tokio::process::Command::new(&bin)
            .arg(format!("-datadir={}", dir.display()))
            .arg(format!("-conf={}", conf_path.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| DevnetError::Io {
                what: format!("start {}", bin.display()),
                source: e,
            })?;
        let mut cfg = RpcConfig::new(format!("http://127.0.0.1:{port}"));
        cfg.auth = Some((RPC_USER.into(), RPC_PASSWORD.into()));
        cfg.max_retries = 0;
        cfg.timeout = Duration::from_secs(120);
        cfg.batch_size = 500;
        cfg.max_concurrent_requests = 4;
        let client = Arc::new(RpcClient::new(cfg)?);
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use tokio::io::AsyncReadExt;
                    let _ = e.read_to_string(&mut err).await;
                }
                return Err(DevnetError::Workload(format!(
                    "litecoind exited with {status}: {}",
                    err.trim()
                )));
            }
            if client.call("getblockcount", json!([])).await.is_ok() {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err(DevnetError::Workload(format!(
                    "litecoind on port {port} did not answer within 60 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Litecoind {
            child: Some(child),
            port,
            datadir: dir,
            _tmp: tmp,
            client,
        })
    }

    /// The RPC URL with credentials.
    pub fn url(&self) -> String {
        format!("http://{RPC_USER}:{RPC_PASSWORD}@127.0.0.1:{}", self.port)
    }

    /// One RPC call.
    pub async fn call(&self, method: &'static str, params: Value) -> Result<Value, DevnetError> {
        let raw = self.client.call(method, params).await?;
        serde_json::from_str(raw.get())
            .map_err(|e| DevnetError::Workload(format!("{method}: bad answer: {e}")))
    }

    async fn batch(&self, reqs: Vec<Request>) -> Result<Vec<Value>, DevnetError> {
        let answers = self.client.batch(reqs).await;
        answers
            .into_iter()
            .map(|a| {
                let raw = a?;
                serde_json::from_str(raw.get())
                    .map_err(|e| DevnetError::Workload(format!("bad answer: {e}")))
            })
            .collect()
    }

    /// Stops the node cleanly (`stop`, then waits for the process to exit). The client's
    /// idle keep-alive connections are closed first: the node's HTTP server waits for them.
    pub async fn stop(mut self) {
        let _ = self.client.call("stop", json!([])).await;
        let child = self.child.take();
        let Litecoind { client, _tmp, .. } = self;
        drop(client);
        if let Some(mut c) = child {
            let _ = tokio::time::timeout(Duration::from_secs(60), c.wait()).await;
            let _ = c.start_kill();
        }
        drop(_tmp);
    }

    /// Keeps the data directory after the node is dropped (it was temporary).
    pub fn keep_datadir(&mut self) -> Option<PathBuf> {
        self._tmp.take().map(|t| t.keep())
    }
}

/// Settings of the UTXO workload.
#[derive(Debug, Clone)]
pub struct UtxoWorkloadConfig {
    /// Seed of every choice.
    pub seed: u64,
    /// Blocks of workload (after the initial maturity blocks).
    pub blocks: u64,
    /// Transactions per block.
    pub txs_per_block: usize,
    /// Number of entities (each owns several addresses).
    pub entities: usize,
    /// The node's clock (`setmocktime`) before the first block; it advances by
    /// `block_time` per mined block, so the same seed gives the same block times and
    /// hashes. `None`: the wall clock (blocks then differ between runs).
    pub start_time: Option<u64>,
    /// Seconds between blocks on the mocked clock.
    pub block_time: u64,
    /// Give entities roles that behave like the actors investigators look for (see
    /// [`ROLES`]): miners (coinbases, pool payouts), exchanges (a fresh deposit address
    /// per customer deposit, deposits swept into a reused hot wallet, batched
    /// withdrawals), gambling services (small round bets into reused addresses, quick
    /// payouts), CoinJoin participants and ordinary users. `false`: the role-free mix.
    pub roles: bool,
}

/// The roles of a workload with roles, in order: entity 0 and the next two are miners,
/// then three exchanges, three gambling services, six CoinJoin participants; the rest
/// are users.
pub const ROLES: [(&str, usize); 5] = [
    ("miner", 3),
    ("exchange", 3),
    ("gambling", 3),
    ("coinjoin", 6),
    ("user", usize::MAX),
];

/// The role of entity `e` in a workload with roles.
pub fn role_of(e: usize) -> &'static str {
    let mut start = 0usize;
    for (r, n) in ROLES {
        if e < start.saturating_add(n) {
            return r;
        }
        start = start.saturating_add(n);
    }
    "user"
}

impl Default for UtxoWorkloadConfig {
    fn default() -> Self {
        UtxoWorkloadConfig {
            seed: 42,
            blocks: 50,
            txs_per_block: 20,
            entities: 40,
            start_time: Some(DEFAULT_START_TIME),
            block_time: 150,
            roles: false,
        }
    }
}

/// The mocked clock's start: 2023-11-14 22:13:20 UTC.
pub const DEFAULT_START_TIME: u64 = 1_700_000_000;

/// One address of the ground truth.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OwnedAddress {
    /// The address as the node prints it.
    pub address: String,
    /// Owning entity (`miner` or `entity-<n>`).
    pub entity: String,
    /// `p2pkh`, `p2sh-p2wpkh` or `p2wpkh`.
    pub kind: &'static str,
}

/// What the workload did.
#[derive(Debug, Clone, Serialize)]
pub struct UtxoWorkloadSummary {
    /// Height of the tip.
    pub head: i64,
    /// Transactions sent (coinbase transactions not counted).
    pub transactions: u64,
    /// Transactions per action.
    pub actions: BTreeMap<String, u64>,
    /// Which entity owns which address.
    pub ground_truth: Vec<OwnedAddress>,
    /// With roles: the role of every entity (`miner`, `entity-3` → `exchange`, …).
    pub roles: BTreeMap<String, String>,
    /// Every transaction sent, in order: its txid (as the node prints it) and what it
    /// was (`payment_with_change`, `coinjoin`, `peel_chain`, …; [`write_actions`]).
    #[serde(skip)]
    pub tx_actions: Vec<(String, &'static str)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    P2pkh,
    P2shP2wpkh,
    P2wpkh,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::P2pkh => "p2pkh",
            Kind::P2shP2wpkh => "p2sh-p2wpkh",
            Kind::P2wpkh => "p2wpkh",
        }
    }
    fn descriptor(self, wif: &str) -> String {
        match self {
            Kind::P2pkh => format!("pkh({wif})"),
            Kind::P2shP2wpkh => format!("sh(wpkh({wif}))"),
            Kind::P2wpkh => format!("wpkh({wif})"),
        }
    }
    /// Virtual bytes of an input spending this kind.
    fn input_vbytes(self) -> u64 {
        match self {
            Kind::P2pkh => 148,
            Kind::P2shP2wpkh => 91,
            Kind::P2wpkh => 68,
        }
    }
}

struct Key {
    wif: String,
    entity: usize,
    kind: Kind,
    address: String,
    script: Vec<u8>,
    used: bool,
}

#[derive(Clone, Debug)]
struct Utxo {
    txid: [u8; 32],
    vout: u32,
    value: i64,
    key: usize,
}

const DUST: i64 = 100_000;

struct Gen<'a> {
    node: &'a Litecoind,
    rng: ChaCha20Rng,
    seed: u64,
    keys: Vec<Key>,
    entity_keys: Vec<Vec<usize>>,
    entity_kind: Vec<Kind>,
    pool: Vec<Utxo>,
    miner_key: usize,
    /// With roles: the mining key of each miner entity (blocks rotate over them).
    miner_keys: Vec<usize>,
    reserve: Vec<Vec<usize>>,
    /// The mocked clock and its step (`None`: wall clock).
    clock: std::cell::Cell<Option<u64>>,
    block_time: u64,
}

fn entity_name(e: usize) -> String {
    if e == 0 {
        "miner".into()
    } else {
        format!("entity-{e}")
    }
}

impl<'a> Gen<'a> {
    /// Creates keys for several entities at once (three batched RPC calls: the node derives
    /// each address from a descriptor and gives its scriptPubKey). Returns the key indexes.
    async fn new_keys(
        &mut self,
        wanted: &[(usize, Kind, usize)],
    ) -> Result<Vec<usize>, DevnetError> {
        let mut plan: Vec<(usize, Kind, String)> = Vec::new();
        for &(entity, kind, n) in wanted {
            for _ in 0..n {
                let i = self.keys.len() + plan.len();
                let mut material = b"ledgerflow-litecoin-key".to_vec();
                material.extend_from_slice(&self.seed.to_le_bytes());
                material.extend_from_slice(&(i as u64).to_le_bytes());
                let secret = sha256(&material);
                let mut payload = secret.to_vec();
                payload.push(0x01); // compressed public key
                plan.push((entity, kind, base58check(&[0xef], &payload)));
            }
        }
        if plan.is_empty() {
            return Ok(Vec::new());
        }
        let infos = self
            .node
            .batch(
                plan.iter()
                    .map(|(_, k, w)| Request::new("getdescriptorinfo", json!([k.descriptor(w)])))
                    .collect(),
            )
            .await?;
        let descs: Vec<String> = infos
            .iter()
            .map(|v| v["descriptor"].as_str().unwrap_or_default().to_string())
            .collect();
        let addrs = self
            .node
            .batch(
                descs
                    .iter()
                    .map(|d| Request::new("deriveaddresses", json!([d])))
                    .collect(),
            )
            .await?;
        let addrs: Vec<String> = addrs
            .iter()
            .map(|v| v[0].as_str().unwrap_or_default().to_string())
            .collect();
        let vals = self
            .node
            .batch(
                addrs
                    .iter()
                    .map(|a| Request::new("validateaddress", json!([a])))
                    .collect(),
            )
            .await?;
        let mut out = Vec::with_capacity(plan.len());
        for (((entity, kind, wif), address), v) in plan.into_iter().zip(addrs).zip(vals) {
            let script = v["scriptPubKey"]
                .as_str()
                .and_then(ledgerflow_bitcoin::hash::from_hex)
                .ok_or_else(|| {
                    DevnetError::Workload(format!("validateaddress {address}: no scriptPubKey"))
                })?;
            let idx = self.keys.len();
            self.keys.push(Key {
                wif,
                entity,
                kind,
                address,
                script,
                used: false,
            });
            out.push(idx);
        }
        Ok(out)
    }

    /// Tops up every entity's reserve of unused keys (one batch for all of them).
    async fn refill(&mut self, per_entity: usize) -> Result<(), DevnetError> {
        let wanted: Vec<(usize, Kind, usize)> = (0..self.reserve.len())
            .filter(|&e| self.reserve[e].len() < per_entity / 2)
            .map(|e| (e, self.entity_kind[e], per_entity))
            .collect();
        let keys = self.new_keys(&wanted).await?;
        for k in keys {
            let e = self.keys[k].entity;
            self.reserve[e].push(k);
        }
        Ok(())
    }

    /// A never-used key of `entity` (its next change or receiving address).
    async fn fresh_key(&mut self, entity: usize) -> Result<usize, DevnetError> {
        if self.reserve[entity].is_empty() {
            let kind = self.entity_kind[entity];
            let k = self.new_keys(&[(entity, kind, 8)]).await?;
            self.reserve[entity].extend(k);
        }
        let k = self.reserve[entity].remove(0);
        self.entity_keys[entity].push(k);
        Ok(k)
    }

    fn known_key(&mut self, entity: usize) -> usize {
        let ks = &self.entity_keys[entity];
        ks[self.rng.gen_range(0..ks.len())]
    }

    fn utxos_of(&self, entity: usize) -> Vec<usize> {
        (0..self.pool.len())
            .filter(|&i| self.keys[self.pool[i].key].entity == entity)
            .collect()
    }

    /// Takes UTXOs of `entity` (largest first) worth at least `amount`.
    fn take_inputs(&mut self, entity: usize, amount: i64, max: usize) -> Option<Vec<Utxo>> {
        let mut mine = self.utxos_of(entity);
        mine.sort_by_key(|&i| std::cmp::Reverse(self.pool[i].value));
        let mut sum = 0;
        let mut chosen = Vec::new();
        for i in mine.into_iter().take(max) {
            sum += self.pool[i].value;
            chosen.push(i);
            if sum >= amount {
                break;
            }
        }
        if sum < amount {
            return None;
        }
        chosen.sort_unstable_by(|a, b| b.cmp(a));
        Some(
            chosen
                .into_iter()
                .map(|i| self.pool.swap_remove(i))
                .collect(),
        )
    }

    fn fee(&self, inputs: &[Utxo], n_out: usize) -> i64 {
        let vb: u64 = 11
            + inputs
                .iter()
                .map(|u| self.keys[u.key].kind.input_vbytes())
                .sum::<u64>()
            + 34 * n_out as u64;
        (vb * 12) as i64
    }

    fn unsigned(&self, inputs: &[Utxo], outputs: &[(usize, i64)]) -> String {
        let mut b = Vec::new();
        b.extend_from_slice(&2u32.to_le_bytes());
        b.push(inputs.len() as u8);
        for u in inputs {
            b.extend_from_slice(&u.txid);
            b.extend_from_slice(&u.vout.to_le_bytes());
            b.push(0);
            b.extend_from_slice(&0xffff_fffdu32.to_le_bytes());
        }
        b.push(outputs.len() as u8);
        for (k, v) in outputs {
            b.extend_from_slice(&v.to_le_bytes());
            let s = &self.keys[*k].script;
            b.push(s.len() as u8);
            b.extend_from_slice(s);
        }
        b.extend_from_slice(&0u32.to_le_bytes());
        to_hex(&b)
    }
}

/// A transaction planned for the current block.
struct Planned {
    action: &'static str,
    inputs: Vec<Utxo>,
    outputs: Vec<(usize, i64)>,
}

/// Mines `n` blocks to the miner.
async fn mine(g: &Gen<'_>, n: u64) -> Result<Vec<String>, DevnetError> {
    mine_to(g, n, g.miner_key).await
}

/// Mines `n` blocks to key `key`.
async fn mine_to(g: &Gen<'_>, n: u64, key: usize) -> Result<Vec<String>, DevnetError> {
    let addr = g.keys[key].address.clone();
    if let Some(t) = g.clock.get() {
        g.node.call("setmocktime", json!([t])).await?;
        g.clock.set(Some(t + g.block_time * n));
    }
    let v = g.node.call("generatetoaddress", json!([n, addr])).await?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default())
}

/// Runs the workload on a fresh node.
pub async fn generate_utxo(
    node: &Litecoind,
    cfg: &UtxoWorkloadConfig,
) -> Result<UtxoWorkloadSummary, DevnetError> {
    let entities = cfg.entities.max(3);
    let mut g = Gen {
        node,
        rng: ChaCha20Rng::seed_from_u64(cfg.seed),
        seed: cfg.seed,
        keys: Vec::new(),
        entity_keys: vec![Vec::new(); entities + 1],
        entity_kind: Vec::new(),
        pool: Vec::new(),
        miner_key: 0,
        miner_keys: Vec::new(),
        reserve: vec![Vec::new(); entities + 1],
        clock: std::cell::Cell::new(cfg.start_time),
        block_time: cfg.block_time.max(1),
    };
    let kinds = [Kind::P2pkh, Kind::P2shP2wpkh, Kind::P2wpkh];
    g.entity_kind.push(Kind::P2pkh);
    for _ in 0..entities {
        let k = kinds[g.rng.gen_range(0..3)];
        g.entity_kind.push(k);
    }
    g.refill(8).await?;
    g.miner_key = g.fresh_key(0).await?;
    g.keys[g.miner_key].used = true;
    for e in 1..=entities {
        let n = g.rng.gen_range(1..=3);
        for _ in 0..n {
            g.fresh_key(e).await?;
        }
    }
    let mut actions: BTreeMap<String, u64> = BTreeMap::new();
    let mut tx_actions: Vec<(String, &'static str)> = Vec::new();
    let miners: Vec<usize> = if cfg.roles {
        (0..=entities).filter(|&e| role_of(e) == "miner").collect()
    } else {
        vec![0]
    };
    if cfg.roles {
        g.miner_keys.push(g.miner_key);
        for &m in &miners[1..] {
            let k = g.fresh_key(m).await?;
            g.keys[k].used = true;
            g.miner_keys.push(k);
        }
    }
    // coinbases mature after 100 blocks
    let initial = 100 + (entities as u64).div_ceil(8) + 2;
    let mut coinbase_queue: std::collections::VecDeque<(String, usize)> = if cfg.roles {
        let mut q = std::collections::VecDeque::new();
        let per = initial.div_ceil(g.miner_keys.len() as u64);
        let keys = g.miner_keys.clone();
        let mut left = initial;
        for k in keys {
            let n = per.min(left);
            left -= n;
            for h in mine_to(&g, n, k).await? {
                q.push_back((h, k));
            }
        }
        q
    } else {
        mine(&g, initial)
            .await?
            .into_iter()
            .map(|h| (h, g.miner_key))
            .collect()
    };
    let mut sent = 0u64;
    let mut peel_chains: Vec<Utxo> = Vec::new();
    for round in 0..cfg.blocks.max(1) {
        g.refill(8).await?;
        // mature coinbases (older than 100 blocks) go to the miner's pool
        while coinbase_queue.len() > 100 {
            let Some((h, cb_key)) = coinbase_queue.pop_front() else {
                break;
            };
            let raw = g.node.client.call("getblock", json!([h, 2])).await?;
            let vb = ledgerflow_bitcoin::verbose::parse_block(raw.get())
                .map_err(|e| DevnetError::Workload(format!("getblock {h}: {e}")))?;
            let cb = vb.block.txs.first();
            let txid = cb.map(|t| t.txid);
            let value = cb.and_then(|t| t.outputs.first()).map(|o| o.value);
            if let (Some(txid), Some(value)) = (txid, value) {
                if value > DUST * 10 {
                    g.pool.push(Utxo {
                        txid,
                        vout: 0,
                        value,
                        key: cb_key,
                    });
                }
            }
        }
        let mut planned: Vec<Planned> = Vec::new();
        // the miner funds entities whenever it has coins: a fan-out to many entities
        let fundings = if round == 0 { 8 } else { 1 };
        for f in 0..fundings {
            let payer = miners[(round as usize + f) % miners.len()];
            let miner_utxos = g.utxos_of(payer);
            let Some(&i) = miner_utxos.first() else { break };
            let u = g.pool.swap_remove(i);
            let n = g.rng.gen_range(5..=12).min(entities);
            let mut es: Vec<usize> = if cfg.roles {
                (1..=entities).filter(|&e| role_of(e) != "miner").collect()
            } else {
                (1..=entities).collect()
            };
            es.shuffle(&mut g.rng);
            let fee = g.fee(std::slice::from_ref(&u), n + 1);
            let share = (u.value - fee) / (n as i64 + 1);
            let mut outputs = Vec::new();
            for e in es.into_iter().take(n) {
                let k = g.fresh_key(e).await?;
                outputs.push((k, share));
            }
            let change = u.value - fee - share * n as i64;
            outputs.push((if cfg.roles { u.key } else { g.miner_key }, change));
            planned.push(Planned {
                action: "funding_fanout",
                inputs: vec![u],
                outputs,
            });
        }
        let mut attempts = 0;
        while planned.len() < cfg.txs_per_block && attempts < cfg.txs_per_block * 4 {
            attempts += 1;
            if cfg.roles {
                if let Some(p) = role_action(&mut g, entities).await? {
                    planned.push(p);
                }
                continue;
            }
            let roll: f64 = g.rng.gen();
            let a = g.rng.gen_range(1..=entities);
            if roll < 0.55 {
                // payment with change
                let mut b = g.rng.gen_range(1..=entities);
                if b == a {
                    b = b % entities + 1;
                }
                let mine = g.utxos_of(a);
                let Some(&big) = mine.iter().max_by_key(|&&i| g.pool[i].value) else {
                    continue;
                };
                let avail = g.pool[big].value;
                if avail < DUST * 20 {
                    continue;
                }
                let amount = g.rng.gen_range(DUST * 2..avail / 2);
                let Some(inputs) = g.take_inputs(a, amount + DUST * 4, 3) else {
                    continue;
                };
                let to = if g.rng.gen_bool(0.3) {
                    g.known_key(b)
                } else {
                    g.fresh_key(b).await?
                };
                let change_key = g.fresh_key(a).await?;
                let total: i64 = inputs.iter().map(|u| u.value).sum();
                let fee = g.fee(&inputs, 2);
                let change = total - amount - fee;
                let mut outputs = vec![(to, amount), (change_key, change)];
                if g.rng.gen_bool(0.5) {
                    outputs.swap(0, 1);
                }
                planned.push(Planned {
                    action: "payment_with_change",
                    inputs,
                    outputs,
                });
            } else if roll < 0.67 {
                // consolidation of several UTXOs of one entity
                let mine = g.utxos_of(a);
                if mine.len() < 3 {
                    continue;
                }
                let n = g.rng.gen_range(3..=mine.len().min(8));
                let mut idx: Vec<usize> = mine.into_iter().take(n).collect();
                idx.sort_unstable_by(|x, y| y.cmp(x));
                let inputs: Vec<Utxo> = idx.into_iter().map(|i| g.pool.swap_remove(i)).collect();
                let total: i64 = inputs.iter().map(|u| u.value).sum();
                let fee = g.fee(&inputs, 1);
                let k = g.fresh_key(a).await?;
                planned.push(Planned {
                    action: "consolidation",
                    inputs,
                    outputs: vec![(k, total - fee)],
                });
            } else if roll < 0.74 {
                // CoinJoin-shaped: equal outputs to every participant plus their change
                let n = g.rng.gen_range(3..=5);
                let mut parts: Vec<usize> = (1..=entities).collect();
                parts.shuffle(&mut g.rng);
                match coinjoin(&mut g, parts, n).await? {
                    Some(p) => planned.push(p),
                    None => continue,
                }
            } else if roll < 0.86 {
                // peel chain: continue one (its last change is confirmed) or start one
                let u = if let Some(pos) =
                    (!peel_chains.is_empty()).then(|| g.rng.gen_range(0..peel_chains.len()))
                {
                    let u = peel_chains.swap_remove(pos);
                    match g
                        .pool
                        .iter()
                        .position(|p| p.txid == u.txid && p.vout == u.vout)
                    {
                        Some(i) => g.pool.swap_remove(i),
                        None => continue,
                    }
                } else {
                    let Some(mut ins) = g.take_inputs(a, DUST * 200, 1) else {
                        continue;
                    };
                    ins.remove(0)
                };
                let owner = g.keys[u.key].entity;
                if u.value < DUST * 30 {
                    g.pool.push(u);
                    continue;
                }
                let mut b = g.rng.gen_range(1..=entities);
                if b == owner {
                    b = b % entities + 1;
                }
                let pay = g.rng.gen_range(DUST * 2..u.value / 10);
                let to = g.fresh_key(b).await?;
                let next = g.fresh_key(owner).await?;
                let fee = g.fee(std::slice::from_ref(&u), 2);
                let rest = u.value - pay - fee;
                planned.push(Planned {
                    action: "peel_chain",
                    inputs: vec![u],
                    outputs: vec![(to, pay), (next, rest)],
                });
            } else {
                // fan-out payment to several entities
                let n = g.rng.gen_range(3..=8);
                let Some(inputs) = g.take_inputs(a, DUST * 10 * (n as i64 + 2), 2) else {
                    continue;
                };
                let total: i64 = inputs.iter().map(|u| u.value).sum();
                let fee = g.fee(&inputs, n + 1);
                let each = DUST * g.rng.gen_range(2..10);
                let mut outputs = Vec::new();
                for _ in 0..n {
                    let e = g.rng.gen_range(1..=entities);
                    let k = g.known_key(e);
                    outputs.push((k, each));
                }
                let change_key = g.fresh_key(a).await?;
                outputs.push((change_key, total - fee - each * n as i64));
                planned.push(Planned {
                    action: "fanout",
                    inputs,
                    outputs,
                });
            }
        }
        // sign and send the block's transactions in two batches
        let sign: Vec<Request> = planned
            .iter()
            .map(|p| {
                let mut wifs: Vec<String> =
                    p.inputs.iter().map(|u| g.keys[u.key].wif.clone()).collect();
                wifs.sort();
                wifs.dedup();
                Request::new(
                    "signrawtransactionwithkey",
                    json!([g.unsigned(&p.inputs, &p.outputs), wifs]),
                )
            })
            .collect();
        let signed = g.node.batch(sign).await?;
        let mut send = Vec::with_capacity(signed.len());
        for (s, p) in signed.iter().zip(&planned) {
            if s["complete"].as_bool() != Some(true) {
                return Err(DevnetError::Workload(format!(
                    "{}: signing incomplete: {}",
                    p.action, s["errors"]
                )));
            }
            send.push(Request::new("sendrawtransaction", json!([s["hex"]])));
        }
        let txids = g.node.batch(send).await?;
        for (t, p) in txids.iter().zip(planned) {
            let txid = t
                .as_str()
                .and_then(parse_hash)
                .ok_or_else(|| DevnetError::Workload(format!("sendrawtransaction: {t}")))?;
            *actions.entry(p.action.to_string()).or_default() += 1;
            tx_actions.push((t.as_str().unwrap_or_default().to_string(), p.action));
            sent += 1;
            for (vout, (k, v)) in p.outputs.iter().enumerate() {
                g.keys[*k].used = true;
                let u = Utxo {
                    txid,
                    vout: vout as u32,
                    value: *v,
                    key: *k,
                };
                if p.action == "peel_chain" && vout == 1 {
                    peel_chains.push(u.clone());
                }
                if *v >= DUST {
                    g.pool.push(u);
                }
            }
        }
        let key = if cfg.roles {
            g.miner_keys[round as usize % g.miner_keys.len()]
        } else {
            g.miner_key
        };
        let hashes = mine_to(&g, 1, key).await?;
        coinbase_queue.extend(hashes.into_iter().map(|h| (h, key)));
    }
    let head = g
        .node
        .call("getblockcount", json!([]))
        .await?
        .as_i64()
        .unwrap_or(-1);
    let ground_truth = g
        .keys
        .iter()
        .filter(|k| k.used)
        .map(|k| OwnedAddress {
            address: k.address.clone(),
            entity: entity_name(k.entity),
            kind: k.kind.name(),
        })
        .collect();
    let roles = if cfg.roles {
        (0..=entities)
            .map(|e| (entity_name(e), role_of(e).to_string()))
            .collect()
    } else {
        BTreeMap::new()
    };
    Ok(UtxoWorkloadSummary {
        head,
        transactions: sent,
        actions,
        ground_truth,
        roles,
        tx_actions,
    })
}

/// A CoinJoin-shaped transaction of the first `n` of `parts` that can pay in: an equal
/// output to each plus its change (`None`, inputs put back: fewer than three could).
async fn coinjoin(
    g: &mut Gen<'_>,
    parts: Vec<usize>,
    n: usize,
) -> Result<Option<Planned>, DevnetError> {
    let denom = DUST * 50;
    let mut inputs = Vec::new();
    let mut members = Vec::new();
    for e in parts {
        if members.len() == n {
            break;
        }
        if let Some(mut ins) = g.take_inputs(e, denom + DUST * 10, 1) {
            inputs.append(&mut ins);
            members.push(e);
        }
    }
    if members.len() < 3 {
        g.pool.append(&mut inputs);
        return Ok(None);
    }
    let fee = g.fee(&inputs, members.len() * 2);
    let per_fee = fee / members.len() as i64 + 1;
    let mut outputs = Vec::new();
    for (k, e) in members.iter().enumerate() {
        let contributed = inputs[k].value;
        let eq = g.fresh_key(*e).await?;
        let ch = g.fresh_key(*e).await?;
        outputs.push((eq, denom));
        outputs.push((ch, contributed - denom - per_fee));
    }
    outputs.shuffle(&mut g.rng);
    Ok(Some(Planned {
        action: "coinjoin",
        inputs,
        outputs,
    }))
}

fn of_role(entities: usize, role: &str) -> Vec<usize> {
    (1..=entities).filter(|&e| role_of(e) == role).collect()
}

/// One transaction of a workload with roles (`None`: the chosen actor could not pay).
async fn role_action(g: &mut Gen<'_>, entities: usize) -> Result<Option<Planned>, DevnetError> {
    let users = of_role(entities, "user");
    let exchanges = of_role(entities, "exchange");
    let casinos = of_role(entities, "gambling");
    let joiners = of_role(entities, "coinjoin");
    let pick = |g: &mut Gen<'_>, v: &[usize]| v[g.rng.gen_range(0..v.len())];
    if users.is_empty() || exchanges.is_empty() || casinos.is_empty() {
        return Ok(None);
    }
    let roll: f64 = g.rng.gen();
    // a plain payment of `amount` from `a` to `to`, change to a fresh key of `a`
    async fn pay(
        g: &mut Gen<'_>,
        action: &'static str,
        a: usize,
        to: usize,
        amount: i64,
    ) -> Result<Option<Planned>, DevnetError> {
        let Some(inputs) = g.take_inputs(a, amount + DUST * 4, 3) else {
            return Ok(None);
        };
        let total: i64 = inputs.iter().map(|u| u.value).sum();
        let fee = g.fee(&inputs, 2);
        let change_key = g.fresh_key(a).await?;
        let mut outputs = vec![(to, amount), (change_key, total - amount - fee)];
        if g.rng.gen_bool(0.5) {
            outputs.swap(0, 1);
        }
        Ok(Some(Planned {
            action,
            inputs,
            outputs,
        }))
    }
    if roll < 0.22 {
        // a user deposits to an exchange: a fresh deposit address per deposit
        let (u, x) = (pick(g, &users), pick(g, &exchanges));
        let amount = DUST * g.rng.gen_range(20..200);
        let to = g.fresh_key(x).await?;
        return pay(g, "exchange_deposit", u, to, amount).await;
    }
    if roll < 0.40 {
        // a bet: a small round amount to one of the service's few reused addresses
        let (u, c) = (pick(g, &users), pick(g, &casinos));
        let amount = DUST * [1, 2, 5, 10][g.rng.gen_range(0..4)];
        let to = g.known_key(c);
        return pay(g, "bet", u, to, amount).await;
    }
    if roll < 0.52 {
        // a gambling payout: several winners at once, change back to a reused address
        let c = pick(g, &casinos);
        let n = g.rng.gen_range(2..=5);
        let Some(inputs) = g.take_inputs(c, DUST * 25 * n as i64, 4) else {
            return Ok(None);
        };
        let total: i64 = inputs.iter().map(|u| u.value).sum();
        let fee = g.fee(&inputs, n + 1);
        let mut outputs = Vec::new();
        let mut paid = 0;
        for _ in 0..n {
            let w = pick(g, &users);
            let v = DUST * [2, 4, 10, 20][g.rng.gen_range(0..4)];
            outputs.push((g.known_key(w), v));
            paid += v;
        }
        let back = g.known_key(c);
        outputs.push((back, total - fee - paid));
        return Ok(Some(Planned {
            action: "gambling_payout",
            inputs,
            outputs,
        }));
    }
    if roll < 0.64 {
        // an exchange sweeps deposit addresses into its hot wallet (its first key)
        let x = pick(g, &exchanges);
        let mine = g.utxos_of(x);
        let hot = g.entity_keys[x][0];
        let deposits: Vec<usize> = mine.into_iter().filter(|&i| g.pool[i].key != hot).collect();
        if deposits.len() < 3 {
            return Ok(None);
        }
        let n = deposits.len().min(12);
        let mut idx: Vec<usize> = deposits.into_iter().take(n).collect();
        idx.sort_unstable_by(|x, y| y.cmp(x));
        let inputs: Vec<Utxo> = idx.into_iter().map(|i| g.pool.swap_remove(i)).collect();
        let total: i64 = inputs.iter().map(|u| u.value).sum();
        let fee = g.fee(&inputs, 1);
        return Ok(Some(Planned {
            action: "exchange_sweep",
            inputs,
            outputs: vec![(hot, total - fee)],
        }));
    }
    if roll < 0.74 {
        // batched withdrawals from the hot wallet to fresh user addresses
        let x = pick(g, &exchanges);
        let hot = g.entity_keys[x][0];
        let n = g.rng.gen_range(4..=9);
        let each: Vec<i64> = (0..n).map(|_| DUST * g.rng.gen_range(10..80)).collect();
        let need: i64 = each.iter().sum::<i64>() + DUST * 4;
        let Some(inputs) = g.take_inputs(x, need, 3) else {
            return Ok(None);
        };
        let total: i64 = inputs.iter().map(|u| u.value).sum();
        let fee = g.fee(&inputs, n + 1);
        let mut outputs = Vec::new();
        for v in &each {
            let w = pick(g, &users);
            outputs.push((g.fresh_key(w).await?, *v));
        }
        outputs.push((hot, total - fee - each.iter().sum::<i64>()));
        return Ok(Some(Planned {
            action: "exchange_withdrawals",
            inputs,
            outputs,
        }));
    }
    if roll < 0.84 && joiners.len() >= 3 {
        // a CoinJoin of participants: equal outputs plus each one's change
        let mut parts = joiners.clone();
        parts.shuffle(&mut g.rng);
        let n = g.rng.gen_range(3..=parts.len().min(5));
        return coinjoin(g, parts, n).await;
    }
    if roll < 0.90 && !joiners.is_empty() {
        // a CoinJoin participant spends mixed coins to a user
        let (j, u) = (pick(g, &joiners), pick(g, &users));
        let to = g.fresh_key(u).await?;
        let amount = DUST * g.rng.gen_range(5..40);
        return pay(g, "mixed_spend", j, to, amount).await;
    }
    // users pay each other
    let (a, b) = (pick(g, &users), pick(g, &users));
    if a == b {
        return Ok(None);
    }
    let to = if g.rng.gen_bool(0.3) {
        g.known_key(b)
    } else {
        g.fresh_key(b).await?
    };
    let amount = DUST * g.rng.gen_range(3..60);
    pay(g, "payment_with_change", a, to, amount).await
}

/// Writes the roles of a workload with roles as a label file (`address,category,source`,
/// what `ledgerflow labels import` reads): every used address with its entity's role.
pub fn write_roles(path: &Path, s: &UtxoWorkloadSummary) -> Result<(), DevnetError> {
    let mut out = String::from("address,category,source\n");
    for a in &s.ground_truth {
        if let Some(r) = s.roles.get(&a.entity) {
            out.push_str(&format!(
                "{},{r},ledgerflow-devnet roles ({})\n",
                a.address, a.entity
            ));
        }
    }
    std::fs::write(path, out).map_err(|e| DevnetError::Io {
        what: format!("write {}", path.display()),
        source: e,
    })
}

/// Writes what each transaction of the workload was, as CSV (`txid,action`: the
/// transaction-level ground truth, e.g. for `gnn train --task anomaly --level
/// transaction --label action`).
pub fn write_actions(path: &Path, s: &UtxoWorkloadSummary) -> Result<(), DevnetError> {
    let mut out = String::from("txid,action\n");
    for (t, a) in &s.tx_actions {
        out.push_str(&format!("{t},{a}\n"));
    }
    std::fs::write(path, out).map_err(|e| DevnetError::Io {
        what: format!("write {}", path.display()),
        source: e,
    })
}

/// Writes the ground truth as CSV (`address,entity,kind`).
pub fn write_ground_truth(path: &Path, truth: &[OwnedAddress]) -> Result<(), DevnetError> {
    let mut s = String::from("address,entity,kind\n");
    for a in truth {
        s.push_str(&format!("{},{},{}\n", a.address, a.entity, a.kind));
    }
    std::fs::write(path, s).map_err(|e| DevnetError::Io {
        what: format!("write {}", path.display()),
        source: e,
    })
}
