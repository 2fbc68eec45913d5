//! Account chains: addresses are the actors, except the deposit addresses services give
//! their customers. The deposit-address heuristic (after Victor, 2020): an address that
//! forwards what it receives, to one single address, within a short delay, is a deposit
//! address of that address's owner, once that receiver collects from enough such
//! addresses to look like an exchange's hot wallet. Ether and one token's transfers are
//! looked at separately (a deposit address forwards in the asset it received).
//!
//! `entities build` on an EVM chain writes `addresses`, `address_entity`, `entities`
//! (value columns as exact decimal strings: wei do not fit 64 bits) and `entity_merges`
//! (rule `deposit`, the first forwarding transaction as evidence).

use std::collections::BTreeMap;

use ledgerflow_core::BlockRange;
use ledgerflow_graph::evm::{evm_transfers, EvmGraphOptions, Transfer};
use ledgerflow_lake::writer::write_table_chunk;
use ledgerflow_lake::{Lake, WriteOptions};
use serde::Serialize;

use crate::error::EntityError;
use crate::tables::EntityMergeRow;
use crate::unionfind::UnionFind;

/// The heuristic's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DepositOptions {
    /// Most blocks between receiving and forwarding.
    pub max_delay: i64,
    /// Least share of what it received an address must forward.
    pub min_share: f64,
    /// Least deposit addresses a receiver needs to count as a hot wallet.
    pub min_deposits: usize,
    /// Also the transfers of this token (lower-case address).
    pub token: Option<String>,
}

impl Default for DepositOptions {
    fn default() -> Self {
        DepositOptions {
            max_delay: 100,
            min_share: 0.9,
            min_deposits: 2,
            token: None,
        }
    }
}

/// A deposit address found: it forwards to `hot`.
#[derive(Debug, Clone, PartialEq)]
pub struct Deposit {
    /// The deposit address (number).
    pub deposit: u32,
    /// The hot wallet.
    pub hot: u32,
    /// `ether` or `token:<address>`.
    pub asset: String,
    /// First forwarding transfer.
    pub hash: String,
    /// Its block.
    pub block: i64,
    /// Received.
    pub received: f64,
    /// Forwarded.
    pub forwarded: f64,
}

/// Finds deposit addresses among transfers of one asset.
pub fn deposits(transfers: &[&Transfer], asset: &str, o: &DepositOptions) -> Vec<Deposit> {
    #[derive(Default)]
    struct Acc {
        received: f64,
        senders: Vec<u32>,
        first_in: Option<i64>,
        last_in: Option<i64>,
        outs: Vec<(u32, f64, i64, String)>,
        late: bool,
    }
    let mut acc: BTreeMap<u32, Acc> = BTreeMap::new();
    for t in transfers {
        if t.from == t.to || t.value <= 0.0 {
            continue;
        }
        let r = acc.entry(t.to).or_default();
        r.received += t.value;
        r.senders.push(t.from);
        r.first_in.get_or_insert(t.block);
        r.last_in = Some(t.block);
        let s = acc.entry(t.from).or_default();
        match s.last_in {
            Some(b) if t.block - b <= o.max_delay => {}
            _ => s.late = true,
        }
        s.outs.push((t.to, t.value, t.block, t.hash.clone()));
    }
    let mut found: Vec<Deposit> = Vec::new();
    for (&d, a) in &acc {
        let Some(&(hot, _, block, ref hash)) = a.outs.first() else {
            continue;
        };
        if a.late || a.received <= 0.0 || a.outs.iter().any(|x| x.0 != hot) {
            continue;
        }
        let forwarded: f64 = a.outs.iter().map(|x| x.1).sum();
        if forwarded < o.min_share * a.received || a.senders.iter().all(|&s| s == hot) {
            continue;
        }
        found.push(Deposit {
            deposit: d,
            hot,
            asset: asset.to_string(),
            hash: hash.clone(),
            block,
            received: a.received,
            forwarded,
        });
    }
    // a hot wallet collects from enough deposit addresses, and is not one itself
    let mut per_hot: BTreeMap<u32, usize> = BTreeMap::new();
    for f in &found {
        *per_hot.entry(f.hot).or_default() += 1;
    }
    let is_deposit: std::collections::BTreeSet<u32> = found.iter().map(|f| f.deposit).collect();
    found.retain(|f| per_hot[&f.hot] >= o.min_deposits && !is_deposit.contains(&f.hot));
    found
}

ledgerflow_core::table! {
    /// `addresses` of an account chain.
    pub struct EvmAddressRow = "addresses" {
        /// Dense id in order of first appearance.
        id: i64,
        /// The address.
        address: String,
        /// First block it moves value in.
        first_block: i64,
        /// Last block.
        last_block: i64,
        /// Value received (wei, plus token units for --token), exact decimal.
        received: String,
        /// Value sent.
        sent: String,
    }
}

ledgerflow_core::table! {
    /// `entities` of an account chain.
    pub struct EvmEntityRow = "entities" {
        /// Entity id (its smallest address id).
        entity_id: i64,
        /// Addresses.
        address_count: i64,
        /// Deposit addresses joined to it.
        deposit_addresses: i64,
        /// First block.
        first_block: i64,
        /// Last block.
        last_block: i64,
        /// Ether received from outside the entity (wei, exact decimal).
        received: String,
        /// Ether sent outside the entity.
        sent: String,
        /// Transfers in or out.
        tx_count: i64,
    }
}

/// What an account-chain build did.
#[derive(Debug, Clone, Serialize)]
pub struct EvmBuildReport {
    /// Chain folder.
    pub chain: String,
    /// Transfers read.
    pub transfers: u64,
    /// Addresses.
    pub addresses: u64,
    /// Entities.
    pub entities: u64,
    /// Deposit addresses found.
    pub deposits: u64,
    /// Hot wallets they forward to.
    pub hot_wallets: u64,
}

/// Builds the entity tables of an account chain (`deposit`: run the heuristic).
pub fn build_evm(
    lake: &Lake,
    chain: &str,
    deposit: Option<&DepositOptions>,
) -> Result<EvmBuildReport, EntityError> {
    let token = deposit.and_then(|d| d.token.clone());
    let graph = |e: ledgerflow_graph::GraphError| EntityError::Usage(e.to_string());
    let (transfers, names) = evm_transfers(
        lake,
        chain,
        &EvmGraphOptions {
            ether: true,
            token: token.clone(),
        },
    )
    .map_err(graph)?;
    let n = names.len();
    let mut uf = UnionFind::new(n);
    let mut found: Vec<Deposit> = Vec::new();
    if let Some(o) = deposit {
        let ether: Vec<&Transfer> = transfers.iter().filter(|t| t.token.is_none()).collect();
        found.extend(deposits(&ether, "ether", o));
        if let Some(tk) = &token {
            let tok: Vec<&Transfer> = transfers.iter().filter(|t| t.token.is_some()).collect();
            found.extend(deposits(&tok, &format!("token:{tk}"), o));
        }
        found.sort_by_key(|f| (f.block, f.deposit));
    }
    let mut merges = Vec::new();
    for f in &found {
        let (ra, rb) = (uf.find(f.hot), uf.find(f.deposit));
        if ra == rb {
            continue;
        }
        let (sa, sb) = (uf.size_of_root(ra), uf.size_of_root(rb));
        uf.link(ra, rb);
        merges.push(EntityMergeRow {
            block_number: f.block,
            transaction_hash: f.hash.clone(),
            rule: "deposit".into(),
            heuristics: Some(f.asset.clone()),
            output_index: None,
            address_id_a: f.hot as i64,
            address_a: names[f.hot as usize].clone(),
            address_id_b: f.deposit as i64,
            address_b: names[f.deposit as usize].clone(),
            confidence: (f.forwarded / f.received).min(1.0),
            status: "merged".into(),
            size_a: sa as i64,
            size_b: sb as i64,
        });
    }
    let entity_of = uf.smallest_members();
    // per address and entity sums (ether only for entities; exact in u128)
    let parse = |s: &str| s.parse::<u128>().unwrap_or(0);
    let mut recv = vec![0u128; n];
    let mut sent = vec![0u128; n];
    let mut first = vec![i64::MAX; n];
    let mut last = vec![i64::MIN; n];
    let mut e_recv: BTreeMap<u32, u128> = BTreeMap::new();
    let mut e_sent: BTreeMap<u32, u128> = BTreeMap::new();
    let mut e_txs: BTreeMap<u32, i64> = BTreeMap::new();
    for t in &transfers {
        let v = parse(&t.value_text);
        recv[t.to as usize] += v;
        sent[t.from as usize] += v;
        for a in [t.from, t.to] {
            first[a as usize] = first[a as usize].min(t.block);
            last[a as usize] = last[a as usize].max(t.block);
        }
        let (ef, et) = (entity_of[t.from as usize], entity_of[t.to as usize]);
        *e_txs.entry(ef).or_default() += 1;
        if ef != et {
            *e_txs.entry(et).or_default() += 1;
            if t.token.is_none() {
                *e_recv.entry(et).or_default() += v;
                *e_sent.entry(ef).or_default() += v;
            }
        }
    }
    let addresses: Vec<EvmAddressRow> = (0..n)
        .map(|i| EvmAddressRow {
            id: i as i64,
            address: names[i].clone(),
            first_block: first[i],
            last_block: last[i],
            received: recv[i].to_string(),
            sent: sent[i].to_string(),
        })
        .collect();
    let address_entity: Vec<crate::tables::AddressEntityRow> = (0..n)
        .map(|i| crate::tables::AddressEntityRow {
            address_id: i as i64,
            address: names[i].clone(),
            entity_id: entity_of[i] as i64,
        })
        .collect();
    let mut ents: BTreeMap<u32, EvmEntityRow> = BTreeMap::new();
    for i in 0..n {
        let e = entity_of[i];
        let r = ents.entry(e).or_insert_with(|| EvmEntityRow {
            entity_id: e as i64,
            first_block: i64::MAX,
            last_block: i64::MIN,
            ..Default::default()
        });
        r.address_count += 1;
        r.first_block = r.first_block.min(first[i]);
        r.last_block = r.last_block.max(last[i]);
    }
    for f in &found {
        if let Some(r) = ents.get_mut(&entity_of[f.deposit as usize]) {
            r.deposit_addresses += 1;
        }
    }
    for (e, r) in ents.iter_mut() {
        r.received = e_recv.get(e).copied().unwrap_or(0).to_string();
        r.sent = e_sent.get(e).copied().unwrap_or(0).to_string();
        r.tx_count = e_txs.get(e).copied().unwrap_or(0);
    }
    let entities: Vec<EvmEntityRow> = ents.into_values().collect();
    let lo = transfers.iter().map(|t| t.block).min().unwrap_or(0).max(0) as u64;
    let hi = transfers.iter().map(|t| t.block).max().unwrap_or(0).max(0) as u64;
    let range = BlockRange::new(lo, hi.max(lo));
    let wopts = WriteOptions::default();
    let mut written = Vec::new();
    let mut put = |table: &str,
                   batch: Result<arrow_array::RecordBatch, arrow_schema::ArrowError>|
     -> Result<(), EntityError> {
        let path = write_table_chunk(lake, chain, table, range, batch, &wopts)?;
        written.push((table.to_string(), path));
        Ok(())
    };
    put("addresses", EvmAddressRow::to_batch(&addresses))?;
    put(
        "address_entity",
        crate::tables::AddressEntityRow::to_batch(&address_entity),
    )?;
    put("entities", EvmEntityRow::to_batch(&entities))?;
    put("entity_merges", EntityMergeRow::to_batch(&merges))?;
    for (table, path) in &written {
        lake.remove_chunks_except(chain, table, &[path.as_path()])?;
    }
    let hot: std::collections::BTreeSet<u32> = found.iter().map(|f| f.hot).collect();
    Ok(EvmBuildReport {
        chain: chain.into(),
        transfers: transfers.len() as u64,
        addresses: n as u64,
        entities: entities.len() as u64,
        deposits: found.len() as u64,
        hot_wallets: hot.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(from: u32, to: u32, value: f64, block: i64) -> Transfer {
        Transfer {
            tx: block as u64,
            hash: format!("0x{block:064x}"),
            from,
            to,
            value,
            value_text: format!("{value}"),
            block,
            time: 0,
            token: None,
        }
    }

    #[test]
    fn forwarders_to_one_collector_are_deposits() {
        // customers 1, 2, 3 pay deposit addresses 10, 11, 12; each forwards 99 % to
        // hot wallet 50 within two blocks. 20 receives from 1 and pays two addresses: no.
        // 30 forwards to 60 alone, but 60 collects from one deposit only: no.
        let v = vec![
            t(1, 10, 100.0, 1),
            t(10, 50, 99.0, 2),
            t(2, 11, 50.0, 3),
            t(11, 50, 49.5, 4),
            t(3, 12, 70.0, 5),
            t(3, 12, 30.0, 6),
            t(12, 50, 99.0, 7),
            t(1, 20, 80.0, 8),
            t(20, 40, 40.0, 9),
            t(20, 41, 40.0, 9),
            t(2, 30, 10.0, 10),
            t(30, 60, 10.0, 11),
        ];
        let refs: Vec<&Transfer> = v.iter().collect();
        let d = deposits(&refs, "ether", &DepositOptions::default());
        let got: Vec<(u32, u32)> = d.iter().map(|x| (x.deposit, x.hot)).collect();
        assert_eq!(got, vec![(10, 50), (11, 50), (12, 50)]);
        // forwarding too late is not a deposit
        let slow = DepositOptions {
            max_delay: 0,
            ..DepositOptions::default()
        };
        assert!(deposits(&refs, "ether", &slow).is_empty());
    }
}
