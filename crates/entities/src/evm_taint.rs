//! Taint on account chains (EVM): accounts hold one balance per asset, so taint follows
//! value through balances, transfer by transfer in chain order, for ether and one token
//! (each traced on its own).
//!
//! * `haircut`: a transfer out of an account carries the account's tainted share of its
//!   balance (`value × tainted / balance`, floored; exact integers).
//! * `fifo`: an account's balance is a queue of lots in the order they arrived; a transfer
//!   takes the oldest first.
//!
//! Balances start at what the lake shows (transfers in minus transfers out); value an
//! account sends beyond that (genesis allocations, block rewards, anything the lake's
//! tables do not move) counts as clean. Gas is not traced (it is not a transfer).
//! Seeds: a transaction (the value it moves is tainted at its receiver) or an address
//! (everything it receives is tainted).

use std::collections::{BTreeMap, VecDeque};

use ledgerflow_graph::evm::{evm_transfers, EvmGraphOptions, Transfer};
use ledgerflow_lake::Lake;
use serde::Serialize;

use crate::error::EntityError;

/// The account models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountModel {
    /// Proportional to the balance.
    Haircut,
    /// Oldest lot first.
    Fifo,
}

#[derive(Debug, Default, Clone)]
struct Account {
    balance: u128,
    tainted: u128,
    lots: VecDeque<(u128, bool)>,
    received: u128,
}

/// Tainted balance of one account at the end.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccountTaint {
    /// The address.
    pub address: String,
    /// Taint it received over time.
    pub received: String,
    /// Taint it holds at the end.
    pub held: String,
    /// Its balance as the lake shows it.
    pub balance: String,
}

/// The result for one asset.
#[derive(Debug, Clone, Serialize)]
pub struct AssetTaint {
    /// `ether` or `token:<address>`.
    pub asset: String,
    /// Seed value.
    pub seed_value: String,
    /// Taint held at the end, over all accounts.
    pub total_tainted: String,
    /// Accounts holding or having received taint, most received first.
    pub accounts: Vec<AccountTaint>,
    /// Largest number of transfers from a seed to a tainted account.
    pub max_hops: u64,
}

fn take_lots(lots: &mut VecDeque<(u128, bool)>, mut v: u128) -> (u128, Vec<(u128, bool)>) {
    let mut tainted = 0;
    let mut taken = Vec::new();
    while v > 0 {
        let Some(front) = lots.front_mut() else {
            taken.push((v, false)); // beyond the lake's balance: clean
            break;
        };
        let n = front.0.min(v);
        if front.1 {
            tainted += n;
        }
        taken.push((n, front.1));
        front.0 -= n;
        v -= n;
        if front.0 == 0 {
            lots.pop_front();
        }
    }
    (tainted, taken)
}

/// Propagates taint over one asset's transfers. `seed_tx`: transaction hashes whose
/// value is tainted; `seed_addr`: address numbers whose receipts are tainted.
pub fn propagate_accounts(
    transfers: &[&Transfer],
    names: &[String],
    seed_tx: &[String],
    seed_addr: &[u32],
    model: AccountModel,
    max_height: Option<i64>,
) -> AssetTaint {
    let mut acc: BTreeMap<u32, Account> = BTreeMap::new();
    let mut hops: BTreeMap<u32, u64> = BTreeMap::new();
    let mut seed_value: u128 = 0;
    for t in transfers {
        if max_height.is_some_and(|m| t.block > m) {
            break;
        }
        let v: u128 = t.value_text.parse().unwrap_or(0);
        if v == 0 {
            continue;
        }
        let seeded = seed_tx.contains(&t.hash) || seed_addr.contains(&t.to);
        // out of the sender
        let s = acc.entry(t.from).or_default();
        let (mut tainted, mut lots): (u128, Vec<(u128, bool)>) = match model {
            AccountModel::Haircut => {
                let bal = s.balance.max(v);
                let x = if bal == 0 {
                    0
                } else {
                    (primitive_mul_div(v, s.tainted, bal)).min(s.tainted)
                };
                s.tainted -= x;
                (x, Vec::new())
            }
            AccountModel::Fifo => take_lots(&mut s.lots, v),
        };
        s.balance = s.balance.saturating_sub(v);
        let from_hops = hops.get(&t.from).copied();
        if seeded {
            seed_value += v - tainted;
            tainted = v;
            lots = vec![(v, true)];
        }
        let r = acc.entry(t.to).or_default();
        r.balance += v;
        r.tainted += tainted;
        r.received += tainted;
        if model == AccountModel::Fifo {
            for l in lots {
                r.lots.push_back(l);
            }
        }
        if tainted > 0 {
            let h = if seeded {
                0
            } else {
                from_hops.unwrap_or(0) + 1
            };
            let e = hops.entry(t.to).or_insert(h);
            *e = (*e).min(h);
        }
    }
    let mut accounts: Vec<(u32, Account)> =
        acc.into_iter().filter(|(_, a)| a.received > 0).collect();
    accounts.sort_by(|a, b| b.1.received.cmp(&a.1.received).then(a.0.cmp(&b.0)));
    let total: u128 = accounts
        .iter()
        .map(|(_, a)| match model {
            AccountModel::Haircut => a.tainted,
            AccountModel::Fifo => a.lots.iter().filter(|l| l.1).map(|l| l.0).sum(),
        })
        .sum();
    AssetTaint {
        asset: String::new(),
        seed_value: seed_value.to_string(),
        total_tainted: total.to_string(),
        max_hops: hops.values().copied().max().unwrap_or(0),
        accounts: accounts
            .iter()
            .map(|(id, a)| AccountTaint {
                address: names[*id as usize].clone(),
                received: a.received.to_string(),
                held: match model {
                    AccountModel::Haircut => a.tainted,
                    AccountModel::Fifo => a.lots.iter().filter(|l| l.1).map(|l| l.0).sum(),
                }
                .to_string(),
                balance: a.balance.to_string(),
            })
            .collect(),
    }
}

/// `v × t / b` in 128 bits without overflow for wei-sized values (splits `v`).
fn primitive_mul_div(v: u128, t: u128, b: u128) -> u128 {
    if let Some(p) = v.checked_mul(t) {
        return p / b;
    }
    // (v / b) × t + (v % b) × t / b, the second term split again if needed
    let q = v / b;
    let r = v % b;
    q.saturating_mul(t).saturating_add(
        r.checked_mul(t)
            .map(|x| x / b)
            .unwrap_or_else(|| ((r as f64) * (t as f64) / (b as f64)) as u128),
    )
}

/// Runs account taint over an EVM chain folder for ether and, with `token`, one token.
pub fn run_evm(
    lake: &Lake,
    chain: &str,
    seeds: &[String],
    model: AccountModel,
    token: Option<String>,
    max_height: Option<i64>,
) -> Result<Vec<AssetTaint>, EntityError> {
    let (transfers, names) = evm_transfers(
        lake,
        chain,
        &EvmGraphOptions {
            ether: true,
            token: token.clone(),
        },
    )
    .map_err(|e| EntityError::Usage(e.to_string()))?;
    let index: BTreeMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let (mut seed_tx, mut seed_addr) = (Vec::new(), Vec::new());
    for s in seeds {
        let s = s.to_lowercase();
        if s.len() == 66 && s.starts_with("0x") {
            if !transfers.iter().any(|t| t.hash == s) {
                return Err(EntityError::NotFound(format!(
                    "--seed {s}: no transfer of transaction {s} in chain {chain} of the lake"
                )));
            }
            seed_tx.push(s);
        } else if let Some(&a) = index.get(s.as_str()) {
            seed_addr.push(a);
        } else {
            return Err(EntityError::NotFound(format!(
                "--seed {s}: neither a transaction hash nor an address that moves value in chain \
                 {chain} of the lake"
            )));
        }
    }
    let mut out = Vec::new();
    let ether: Vec<&Transfer> = transfers.iter().filter(|t| t.token.is_none()).collect();
    let mut r = propagate_accounts(&ether, &names, &seed_tx, &seed_addr, model, max_height);
    r.asset = "ether".into();
    out.push(r);
    if let Some(tk) = token {
        let tok: Vec<&Transfer> = transfers.iter().filter(|t| t.token.is_some()).collect();
        let mut r = propagate_accounts(&tok, &names, &seed_tx, &seed_addr, model, max_height);
        r.asset = format!("token:{tk}");
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u64, from: u32, to: u32, v: u128) -> Transfer {
        Transfer {
            tx: n,
            hash: format!("0x{n:064x}"),
            from,
            to,
            value: v as f64,
            value_text: v.to_string(),
            block: n as i64,
            time: 0,
            token: None,
        }
    }

    #[test]
    fn haircut_and_fifo_by_hand() {
        // 0 (the hacker) gets 100 tainted from seed tx 1; 2 has 300 clean from 9.
        // 0 pays 2 fifty; 2 then pays 3 one hundred.
        let v = [
            t(1, 8, 0, 100),
            t(2, 9, 2, 300),
            t(3, 0, 2, 50),
            t(4, 2, 3, 100),
        ];
        let refs: Vec<&Transfer> = v.iter().collect();
        let names: Vec<String> = (0..10).map(|i| format!("a{i}")).collect();
        let seed = vec![format!("0x{:064x}", 1)];
        let h = propagate_accounts(&refs, &names, &seed, &[], AccountModel::Haircut, None);
        // 0 sends 50 of 100, all tainted; 2 holds 50 of 350 tainted, sends 100 × 50/350 = 14
        let held = |r: &AssetTaint, a: &str| {
            r.accounts
                .iter()
                .find(|x| x.address == a)
                .map(|x| x.held.clone())
                .unwrap_or_default()
        };
        assert_eq!(held(&h, "a0"), "50");
        assert_eq!(held(&h, "a2"), "36");
        assert_eq!(held(&h, "a3"), "14");
        assert_eq!(h.total_tainted, "100");
        // FIFO: 2's lots are 300 clean then 50 tainted; the 100 it pays are clean
        let f = propagate_accounts(&refs, &names, &seed, &[], AccountModel::Fifo, None);
        assert_eq!(held(&f, "a2"), "50");
        assert_eq!(held(&f, "a3"), "");
        assert_eq!(f.total_tainted, "100");
        assert_eq!(f.max_hops, 1);
    }
}

ledgerflow_core::table! {
    /// `taint_accounts`: an account chain's taint per account and asset.
    pub struct TaintAccountRow = "taint_accounts" {
        /// `ether` or `token:<address>`.
        asset: String,
        /// Model.
        model: String,
        /// The account.
        address: String,
        /// Taint received (base units, exact decimal).
        received: String,
        /// Taint held at the end.
        held: String,
        /// Balance as the lake shows it.
        balance: String,
    }
}

/// Writes `taint_accounts` (replacing an earlier run's).
pub fn write_accounts(
    lake: &Lake,
    chain: &str,
    model: &str,
    result: &[AssetTaint],
    range: ledgerflow_core::BlockRange,
) -> Result<(), EntityError> {
    let rows: Vec<TaintAccountRow> = result
        .iter()
        .flat_map(|a| {
            a.accounts.iter().map(move |x| TaintAccountRow {
                asset: a.asset.clone(),
                model: model.to_string(),
                address: x.address.clone(),
                received: x.received.clone(),
                held: x.held.clone(),
                balance: x.balance.clone(),
            })
        })
        .collect();
    ledgerflow_lake::writer::replace_table(
        lake,
        chain,
        "taint_accounts",
        range,
        TaintAccountRow::to_batch(&rows),
        &ledgerflow_lake::WriteOptions::default(),
    )?;
    Ok(())
}
