//! Features of account-chain (EVM) addresses over the lake's `transactions`,
//! `token_transfers` and `contracts`, up to a window's end (pure: decoded rows in,
//! columns out).
//!
//! Ether values are in ether, gas prices in gwei, fees in ether. The window's graph has
//! one edge per transaction or token transfer between two different addresses (counted,
//! not weighted by value: most calls move no ether).

use std::collections::BTreeSet;

use ledgerflow_graph::algo::{pagerank, weak_components, PageRankOptions};
use ledgerflow_graph::csr::{Csr, Edge};

use super::{
    activity, feature_list, ratio, stats, AddressLabels, FeatureDef, Window, WindowFeatures,
};

/// One transaction, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct EvmTx {
    pub block: i64,
    pub time: i64,
    pub from: u32,
    /// `None`: a contract creation.
    pub to: Option<u32>,
    /// Ether.
    pub value: f64,
    pub gas_limit: f64,
    /// Wei per gas (the effective price where the receipt has it).
    pub gas_price: f64,
    pub gas_used: f64,
    pub priority_fee: Option<f64>,
    pub tx_type: i64,
    /// `Some(false)`: failed.
    pub success: Option<bool>,
    /// Bytes of call data.
    pub input_len: u32,
    /// First four bytes of the call data.
    pub selector: Option<u32>,
    /// The contract this transaction created.
    pub created: Option<u32>,
}

/// One token transfer, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct EvmTransfer {
    pub block: i64,
    pub time: i64,
    pub token: u32,
    pub from: u32,
    pub to: u32,
    /// ERC-721 or ERC-1155 (a non-fungible transfer).
    pub nft: bool,
}

/// An account chain up to a window's end: addresses numbered in order of first
/// appearance, transactions and transfers in chain order, contracts with the block that
/// created them.
#[derive(Debug, Clone, Default)]
pub struct EvmChain {
    pub names: Vec<String>,
    pub txs: Vec<EvmTx>,
    pub transfers: Vec<EvmTransfer>,
    /// Address id → block and time of its creation (contracts only).
    pub contracts: std::collections::BTreeMap<u32, (i64, i64)>,
}

feature_list! { EVM, F;
    // counts
    tx_count, Counts, "Transactions in the window sent by or to the address.";
    sent_tx_count, Counts, "Transactions it sent in the window.";
    received_tx_count, Counts, "Transactions to it in the window.";
    self_tx_count, Counts, "Transactions it sent to itself.";
    in_counterparties, Counts, "Distinct addresses that sent it a transaction or a token transfer in the window.";
    out_counterparties, Counts, "Distinct addresses it sent a transaction or a token transfer to.";
    counterparties, Counts, "Distinct addresses on either side.";
    tx_count_total, Counts, "Transactions sent by or to it from the chain's start to the window end.";
    sent_tx_count_total, Counts, "Transactions it sent from the chain's start to the window end.";
    token_transfer_count, Counts, "Token transfers from or to it in the window.";
    token_in_count, Counts, "Token transfers to it in the window.";
    token_out_count, Counts, "Token transfers from it in the window.";
    // values
    received_value, Values, "Ether received by transactions in the window (successful ones).";
    sent_value, Values, "Ether sent by its successful transactions in the window.";
    net_value, Values, "received_value − sent_value.";
    flow_balance, Values, "Ether received minus sent minus fees paid by transactions, from the chain's start to the window end (internal transfers and rewards not counted).";
    received_total_value, Values, "Ether received by transactions from the chain's start to the window end.";
    sent_total_value, Values, "Ether sent by its transactions from the chain's start to the window end.";
    recv_amount_min, Values, "Smallest ether value received by a transaction in the window (zero-value calls included).";
    recv_amount_max, Values, "Largest ether value received.";
    recv_amount_mean, Values, "Mean ether value received.";
    recv_amount_median, Values, "Median ether value received.";
    recv_amount_std, Values, "Population standard deviation of the values received.";
    sent_amount_min, Values, "Smallest ether value it sent.";
    sent_amount_max, Values, "Largest ether value it sent.";
    sent_amount_mean, Values, "Mean ether value it sent.";
    sent_amount_median, Values, "Median ether value it sent.";
    sent_amount_std, Values, "Population standard deviation of the values it sent.";
    zero_value_sent_share, Values, "Share of its sent transactions that move no ether.";
    round_sent_share, Values, "Share of its non-zero sent values that are multiples of 0.01 ether.";
    // time
    age_days, Time, "Days from its first transaction or transfer (from the chain's start) to the window end.";
    lifetime_days, Time, "Days from its first to its last transaction or transfer, up to the window end.";
    recency_days, Time, "Days from its last transaction or transfer to the window end.";
    first_seen_in_window, Time, "1 when its first transaction or transfer is in the window.";
    active_days, Time, "Distinct UTC days of the window with a transaction or transfer of it.";
    active_blocks, Time, "Distinct blocks of the window with a transaction or transfer of it.";
    span_days, Time, "Days from its first to its last activity in the window.";
    tx_per_active_day, Time, "Activities (transactions and transfers) per active day.";
    interval_min_hours, Time, "Shortest gap between consecutive activities in the window (hours).";
    interval_max_hours, Time, "Longest gap (hours).";
    interval_mean_hours, Time, "Mean gap (hours).";
    interval_median_hours, Time, "Median gap (hours).";
    interval_std_hours, Time, "Population standard deviation of the gaps (hours).";
    burstiness, Time, "(σ − μ)/(σ + μ) of the gaps.";
    hour_share_00_04, Time, "Share of its activities in blocks stamped 00:00–03:59 UTC.";
    hour_share_04_08, Time, "Share stamped 04:00–07:59 UTC.";
    hour_share_08_12, Time, "Share stamped 08:00–11:59 UTC.";
    hour_share_12_16, Time, "Share stamped 12:00–15:59 UTC.";
    hour_share_16_20, Time, "Share stamped 16:00–19:59 UTC.";
    hour_share_20_24, Time, "Share stamped 20:00–23:59 UTC.";
    hour_entropy, Time, "Entropy (bits) of its activities over the 24 hours.";
    weekday_share_mon, Time, "Share on Mondays (UTC).";
    weekday_share_tue, Time, "Share on Tuesdays.";
    weekday_share_wed, Time, "Share on Wednesdays.";
    weekday_share_thu, Time, "Share on Thursdays.";
    weekday_share_fri, Time, "Share on Fridays.";
    weekday_share_sat, Time, "Share on Saturdays.";
    weekday_share_sun, Time, "Share on Sundays.";
    weekday_entropy, Time, "Entropy (bits) over the days of the week.";
    days_since_received, Time, "Days from the last transaction to it in the window to the window end.";
    days_since_sent, Time, "Days from its last sent transaction in the window to the window end.";
    // structure
    degree_ratio, Structure, "out_counterparties / (in_counterparties + out_counterparties).";
    reciprocity, Structure, "Share of its counterparties it both sent to and received from.";
    out_unique_share, Structure, "out_counterparties / (sent transactions + outgoing transfers): 1 when every payment goes somewhere new.";
    in_unique_share, Structure, "in_counterparties / (received transactions + incoming transfers).";
    is_contract, Structure, "1 when the address is a contract created at or before the window end.";
    contract_age_days, Structure, "Days from its creation as a contract to the window end (missing for accounts).";
    // gas
    gas_price_min_gwei, Gas, "Lowest gas price (effective price where known) of its sent transactions, gwei.";
    gas_price_max_gwei, Gas, "Highest gas price of its sent transactions, gwei.";
    gas_price_mean_gwei, Gas, "Mean gas price of its sent transactions, gwei.";
    gas_price_median_gwei, Gas, "Median gas price, gwei.";
    gas_price_std_gwei, Gas, "Population standard deviation of the gas prices, gwei.";
    gas_limit_mean, Gas, "Mean gas limit of its sent transactions.";
    gas_used_mean, Gas, "Mean gas used by its sent transactions.";
    gas_utilisation_mean, Gas, "Mean gas used / gas limit of its sent transactions.";
    fee_total, Gas, "Fees (gas used × price) of its sent transactions in the window, ether.";
    fee_mean, Gas, "Mean fee of its sent transactions, ether.";
    priority_fee_mean_gwei, Gas, "Mean max priority fee of its EIP-1559 transactions, gwei.";
    eip1559_share, Gas, "Share of its sent transactions of type 2 or later.";
    // contracts
    contract_call_share, Contracts, "Share of its sent transactions addressed to a contract.";
    distinct_contracts_called, Contracts, "Distinct contracts its transactions call.";
    contract_creation_count, Contracts, "Contracts its transactions created in the window.";
    input_data_share, Contracts, "Share of its sent transactions with call data.";
    input_len_mean, Contracts, "Mean call-data length of its sent transactions, bytes.";
    distinct_selectors, Contracts, "Distinct function selectors it called.";
    top_selector_share, Contracts, "Share of its calls with call data that use its most used selector.";
    failed_tx_count, Contracts, "Its sent transactions that failed (receipt status 0).";
    failed_tx_share, Contracts, "failed_tx_count / sent transactions with a known status.";
    calls_received_count, Contracts, "Transactions with call data addressed to it.";
    // tokens
    distinct_tokens, Tokens, "Distinct tokens it sent or received in the window.";
    distinct_tokens_received, Tokens, "Distinct tokens it received.";
    distinct_tokens_sent, Tokens, "Distinct tokens it sent.";
    token_in_counterparties, Tokens, "Distinct addresses that sent it tokens.";
    token_out_counterparties, Tokens, "Distinct addresses it sent tokens to.";
    nft_transfer_share, Tokens, "Share of its token transfers that are ERC-721 or ERC-1155.";
    top_token_share, Tokens, "Share of its token transfers in its most used token.";
    token_to_tx_ratio, Tokens, "token_transfer_count / (tx_count + 1).";
    // neighbourhood
    pagerank, Neighbourhood, "PageRank (α 0.85, edges counted) in the window's graph, times its number of nodes.";
    component_size, Neighbourhood, "Addresses in its weakly connected component of the window's graph.";
    neigh_degree_sum, Neighbourhood, "Sum of its counterparties' counterparties.";
    neigh_max_counterparties, Neighbourhood, "Most counterparties of one of its counterparties.";
    neigh_mean_tx_count, Neighbourhood, "Mean tx_count of its counterparties.";
    neigh_mean_received_value, Neighbourhood, "Mean received_value of its counterparties.";
    neigh_mean_sent_value, Neighbourhood, "Mean sent_value of its counterparties.";
    neigh_mean_counterparties, Neighbourhood, "Mean counterparties of its counterparties.";
    neigh_mean_age_days, Neighbourhood, "Mean age_days of its counterparties.";
    neigh_mean_failed_tx_share, Neighbourhood, "Mean failed_tx_share of its counterparties.";
    neigh_contract_share, Neighbourhood, "Share of its counterparties that are contracts.";
}

#[derive(Default, Clone)]
struct Acc {
    tx: u32,
    sent_tx: u32,
    recv_tx: u32,
    self_tx: u32,
    tok: u32,
    tok_in: u32,
    tok_out: u32,
    received: f64,
    sent: f64,
    recv_vals: Vec<f64>,
    sent_vals: Vec<f64>,
    zero_sent: u32,
    round_sent: u32,
    nonzero_sent: u32,
    times: Vec<(i64, i64)>,
    last_recv: Option<i64>,
    last_sent: Option<i64>,
    prices: Vec<f64>,
    gas_limit: f64,
    gas_used: f64,
    util: f64,
    util_n: u32,
    fee: f64,
    prio: f64,
    prio_n: u32,
    type2: u32,
    to_contract: u32,
    contracts_called: BTreeSet<u32>,
    created: u32,
    with_input: u32,
    input_len: u64,
    selectors: Vec<u32>,
    failed: u32,
    status_known: u32,
    calls_received: u32,
    tokens_in: BTreeSet<u32>,
    tokens_out: BTreeSet<u32>,
    tok_from: BTreeSet<u32>,
    tok_to: BTreeSet<u32>,
    nft: u32,
    token_list: Vec<u32>,
    // history
    tx_total: u32,
    sent_total_n: u32,
    /// Earliest activity: (time, block).
    first: Option<(i64, i64)>,
    last_time: i64,
    recv_total: f64,
    sent_total: f64,
    fees_total: f64,
}

/// What to compute features of.
#[derive(Debug, Clone, Copy)]
pub struct EvmInput<'a> {
    /// The chain up to the window's end.
    pub chain: &'a EvmChain,
    /// The window's first block.
    pub start_block: i64,
    pub window: Window,
    pub labels: Option<&'a AddressLabels>,
    pub threads: usize,
}

const GWEI: f64 = 1e9;

/// The features of one window (one row per address active in it, in address id order).
pub fn compute(inp: &EvmInput<'_>) -> WindowFeatures {
    let c = inp.chain;
    let n = c.names.len();
    let sb = inp.start_block;
    let end = inp.window.end;
    let is_contract = |a: u32| c.contracts.contains_key(&a);
    let mut accs: Vec<Acc> = vec![Acc::default(); n];
    let mut active = vec![false; n];
    let mut edges: Vec<Edge> = Vec::new();
    // position of an activity in chain order: (transaction index, or transfers after)
    for t in &c.txs {
        let ok = t.success != Some(false);
        let fee = t.gas_used * t.gas_price / 1e18;
        let parties: [Option<u32>; 2] = [Some(t.from), t.to.filter(|&x| x != t.from)];
        for a in parties.into_iter().flatten() {
            let acc = &mut accs[a as usize];
            acc.tx_total += 1;
            if acc.first.is_none_or(|f| (t.time, t.block) < f) {
                acc.first = Some((t.time, t.block));
            }
            acc.last_time = acc.last_time.max(t.time);
        }
        {
            let f = &mut accs[t.from as usize];
            f.sent_total_n += 1;
            f.fees_total += fee;
            if ok {
                f.sent_total += t.value;
            }
        }
        if let (Some(to), true) = (t.to, ok) {
            accs[to as usize].recv_total += t.value;
        }
        if t.block < sb {
            continue;
        }
        // in the window
        active[t.from as usize] = true;
        let f = &mut accs[t.from as usize];
        f.tx += 1;
        f.sent_tx += 1;
        f.times.push((t.time, t.block));
        f.last_sent = Some(t.time);
        if ok {
            f.sent += t.value;
        }
        f.sent_vals.push(t.value);
        if t.value == 0.0 {
            f.zero_sent += 1;
        } else {
            f.nonzero_sent += 1;
            if (t.value * 100.0 - (t.value * 100.0).round()).abs() < 1e-9 {
                f.round_sent += 1;
            }
        }
        f.prices.push(t.gas_price / GWEI);
        f.gas_limit += t.gas_limit;
        f.gas_used += t.gas_used;
        if t.gas_limit > 0.0 {
            f.util += t.gas_used / t.gas_limit;
            f.util_n += 1;
        }
        f.fee += fee;
        if let Some(p) = t.priority_fee {
            f.prio += p / GWEI;
            f.prio_n += 1;
        }
        f.type2 += u32::from(t.tx_type >= 2);
        if t.input_len > 0 {
            f.with_input += 1;
            f.input_len += t.input_len as u64;
            if let Some(s) = t.selector {
                f.selectors.push(s);
            }
        }
        if let Some(s) = t.success {
            f.status_known += 1;
            f.failed += u32::from(!s);
        }
        if t.created.is_some() {
            f.created += 1;
        }
        match t.to {
            Some(to) if to == t.from => {
                f.self_tx += 1;
            }
            Some(to) => {
                if is_contract(to) {
                    f.to_contract += 1;
                    f.contracts_called.insert(to);
                }
                active[to as usize] = true;
                let r = &mut accs[to as usize];
                r.tx += 1;
                r.recv_tx += 1;
                r.times.push((t.time, t.block));
                r.last_recv = Some(t.time);
                r.recv_vals.push(t.value);
                if ok {
                    r.received += t.value;
                }
                if t.input_len > 0 {
                    r.calls_received += 1;
                }
                edges.push(Edge {
                    src: t.from,
                    dst: to,
                    weight: 1.0,
                });
            }
            None => {}
        }
    }
    for tr in &c.transfers {
        for a in [tr.from, tr.to] {
            let acc = &mut accs[a as usize];
            if acc.first.is_none_or(|f| (tr.time, tr.block) < f) {
                acc.first = Some((tr.time, tr.block));
            }
            acc.last_time = acc.last_time.max(tr.time);
        }
        if tr.block < sb {
            continue;
        }
        for (a, out) in [(tr.from, true), (tr.to, false)] {
            active[a as usize] = true;
            let acc = &mut accs[a as usize];
            acc.tok += 1;
            acc.times.push((tr.time, tr.block));
            acc.nft += u32::from(tr.nft);
            acc.token_list.push(tr.token);
            if out {
                acc.tok_out += 1;
                acc.tokens_out.insert(tr.token);
                acc.tok_to.insert(tr.to);
            } else {
                acc.tok_in += 1;
                acc.tokens_in.insert(tr.token);
                acc.tok_from.insert(tr.from);
            }
        }
        if tr.from != tr.to {
            edges.push(Edge {
                src: tr.from,
                dst: tr.to,
                weight: 1.0,
            });
        }
    }

    // Rows: active addresses in id order; the graph over them.
    let rows: Vec<u32> = (0..n as u32).filter(|&a| active[a as usize]).collect();
    let mut row_of = vec![u32::MAX; n];
    for (r, &a) in rows.iter().enumerate() {
        row_of[a as usize] = r as u32;
    }
    let m = rows.len();
    let edges: Vec<Edge> = edges
        .into_iter()
        .filter(|e| e.src != e.dst)
        .map(|e| Edge {
            src: row_of[e.src as usize],
            dst: row_of[e.dst as usize],
            weight: e.weight,
        })
        .collect();
    let g = Csr::from_edges(m, &edges);
    let nf = EVM.len();
    let mut cols: Vec<Vec<f64>> = vec![vec![f64::NAN; m]; nf];
    let day = 86_400.0;
    for (r, &addr) in rows.iter().enumerate() {
        let a = &mut accs[addr as usize];
        let mut set = |f: F, v: f64| cols[f as usize][r] = v;
        let (outs, _) = g.out(r as u32);
        let (inns, _) = g.inn(r as u32);
        let both = outs
            .iter()
            .filter(|x| inns.binary_search(x).is_ok())
            .count();
        let cp = outs.len() + inns.len() - both;
        set(F::tx_count, a.tx as f64);
        set(F::sent_tx_count, a.sent_tx as f64);
        set(F::received_tx_count, a.recv_tx as f64);
        set(F::self_tx_count, a.self_tx as f64);
        set(F::in_counterparties, inns.len() as f64);
        set(F::out_counterparties, outs.len() as f64);
        set(F::counterparties, cp as f64);
        set(F::tx_count_total, a.tx_total as f64);
        set(F::sent_tx_count_total, a.sent_total_n as f64);
        set(F::token_transfer_count, a.tok as f64);
        set(F::token_in_count, a.tok_in as f64);
        set(F::token_out_count, a.tok_out as f64);
        set(F::received_value, a.received);
        set(F::sent_value, a.sent);
        set(F::net_value, a.received - a.sent);
        set(F::flow_balance, a.recv_total - a.sent_total - a.fees_total);
        set(F::received_total_value, a.recv_total);
        set(F::sent_total_value, a.sent_total);
        let s = stats(&mut a.recv_vals);
        for (i, &v) in s.iter().enumerate() {
            set(F::recv_amount_min.nth(i), v);
        }
        let s = stats(&mut a.sent_vals);
        for (i, &v) in s.iter().enumerate() {
            set(F::sent_amount_min.nth(i), v);
        }
        set(
            F::zero_value_sent_share,
            ratio(a.zero_sent as f64, a.sent_tx as f64),
        );
        set(
            F::round_sent_share,
            ratio(a.round_sent as f64, a.nonzero_sent as f64),
        );
        // time
        let (first_time, first_block) = a.first.unwrap_or((end, sb));
        set(F::age_days, (end - first_time) as f64 / day);
        set(F::lifetime_days, (a.last_time - first_time) as f64 / day);
        set(F::recency_days, (end - a.last_time) as f64 / day);
        a.times.sort_unstable();
        set(
            F::first_seen_in_window,
            f64::from(u8::from(first_block >= sb)),
        );
        let times: Vec<i64> = a.times.iter().map(|&(t, _)| t).collect();
        let act = activity(&times);
        let mut blocks: Vec<i64> = a.times.iter().map(|&(_, b)| b).collect();
        blocks.sort_unstable();
        blocks.dedup();
        set(F::active_days, act.days as f64);
        set(F::active_blocks, blocks.len() as f64);
        set(F::span_days, act.span_days);
        set(
            F::tx_per_active_day,
            ratio(times.len() as f64, act.days as f64),
        );
        for (i, &v) in act.run.iter().enumerate() {
            set(F::interval_min_hours.nth(i), v);
        }
        set(
            F::days_since_received,
            a.last_recv.map_or(f64::NAN, |t| (end - t) as f64 / day),
        );
        set(
            F::days_since_sent,
            a.last_sent.map_or(f64::NAN, |t| (end - t) as f64 / day),
        );
        // structure
        set(
            F::degree_ratio,
            ratio(outs.len() as f64, (outs.len() + inns.len()) as f64),
        );
        set(F::reciprocity, ratio(both as f64, cp as f64));
        set(
            F::out_unique_share,
            ratio(outs.len() as f64, (a.sent_tx + a.tok_out) as f64),
        );
        set(
            F::in_unique_share,
            ratio(inns.len() as f64, (a.recv_tx + a.tok_in) as f64),
        );
        let cb = c.contracts.get(&addr);
        set(F::is_contract, f64::from(u8::from(cb.is_some())));
        set(
            F::contract_age_days,
            cb.map_or(f64::NAN, |&(_, t)| (end - t) as f64 / day),
        );
        // gas
        let st = a.sent_tx as f64;
        let s = stats(&mut a.prices);
        set(F::gas_price_min_gwei, s[0]);
        set(F::gas_price_max_gwei, s[1]);
        set(F::gas_price_mean_gwei, s[2]);
        set(F::gas_price_median_gwei, s[3]);
        set(F::gas_price_std_gwei, s[4]);
        set(F::gas_limit_mean, ratio(a.gas_limit, st));
        set(F::gas_used_mean, ratio(a.gas_used, st));
        set(F::gas_utilisation_mean, ratio(a.util, a.util_n as f64));
        set(F::fee_total, if a.sent_tx > 0 { a.fee } else { f64::NAN });
        set(F::fee_mean, ratio(a.fee, st));
        set(F::priority_fee_mean_gwei, ratio(a.prio, a.prio_n as f64));
        set(F::eip1559_share, ratio(a.type2 as f64, st));
        // contracts
        set(F::contract_call_share, ratio(a.to_contract as f64, st));
        set(
            F::distinct_contracts_called,
            a.contracts_called.len() as f64,
        );
        set(F::contract_creation_count, a.created as f64);
        set(F::input_data_share, ratio(a.with_input as f64, st));
        set(
            F::input_len_mean,
            ratio(a.input_len as f64, a.with_input as f64),
        );
        a.selectors.sort_unstable();
        let (distinct, top) = runs(&a.selectors);
        set(F::distinct_selectors, distinct as f64);
        set(
            F::top_selector_share,
            ratio(top as f64, a.selectors.len() as f64),
        );
        set(F::failed_tx_count, a.failed as f64);
        set(
            F::failed_tx_share,
            ratio(a.failed as f64, a.status_known as f64),
        );
        set(F::calls_received_count, a.calls_received as f64);
        // tokens
        let all: BTreeSet<u32> = a.tokens_in.union(&a.tokens_out).copied().collect();
        set(F::distinct_tokens, all.len() as f64);
        set(F::distinct_tokens_received, a.tokens_in.len() as f64);
        set(F::distinct_tokens_sent, a.tokens_out.len() as f64);
        set(F::token_in_counterparties, a.tok_from.len() as f64);
        set(F::token_out_counterparties, a.tok_to.len() as f64);
        set(F::nft_transfer_share, ratio(a.nft as f64, a.tok as f64));
        a.token_list.sort_unstable();
        let (_, top) = runs(&a.token_list);
        set(
            F::top_token_share,
            ratio(top as f64, a.token_list.len() as f64),
        );
        set(F::token_to_tx_ratio, a.tok as f64 / (a.tx as f64 + 1.0));
    }
    // neighbourhood
    let pr = pagerank(
        &g,
        &PageRankOptions {
            weighted: false,
            threads: inp.threads.max(1),
            ..PageRankOptions::default()
        },
    );
    let comp = weak_components(&g);
    let mut comp_size = vec![0u32; m];
    for &x in &comp {
        comp_size[x as usize] += 1;
    }
    let mut neigh: Vec<u32> = Vec::new();
    for r in 0..m as u32 {
        neigh.clear();
        neigh.extend_from_slice(g.out(r).0);
        neigh.extend_from_slice(g.inn(r).0);
        neigh.sort_unstable();
        neigh.dedup();
        let get = |f: F, u: u32| cols[f as usize][u as usize];
        let mean = |f: F| {
            let v: Vec<f64> = neigh
                .iter()
                .map(|&u| get(f, u))
                .filter(|x| !x.is_nan())
                .collect();
            ratio(v.iter().sum(), v.len() as f64)
        };
        let vals = [
            (F::pagerank, pr.scores[r as usize] * m as f64),
            (
                F::component_size,
                comp_size[comp[r as usize] as usize] as f64,
            ),
            (
                F::neigh_degree_sum,
                neigh.iter().map(|&u| get(F::counterparties, u)).sum(),
            ),
            (
                F::neigh_max_counterparties,
                neigh
                    .iter()
                    .map(|&u| get(F::counterparties, u))
                    .fold(f64::NAN, f64::max),
            ),
            (F::neigh_mean_tx_count, mean(F::tx_count)),
            (F::neigh_mean_received_value, mean(F::received_value)),
            (F::neigh_mean_sent_value, mean(F::sent_value)),
            (F::neigh_mean_counterparties, mean(F::counterparties)),
            (F::neigh_mean_age_days, mean(F::age_days)),
            (F::neigh_mean_failed_tx_share, mean(F::failed_tx_share)),
            (F::neigh_contract_share, mean(F::is_contract)),
        ];
        for (f, v) in vals {
            cols[f as usize][r as usize] = v;
        }
    }
    let mut defs: Vec<FeatureDef> = EVM
        .iter()
        .map(|(n, fam, d)| FeatureDef {
            name: n.to_string(),
            family: *fam,
            definition: d.to_string(),
        })
        .collect();
    let mut labels = vec![None; m];
    let mut label_sources = vec![None; m];
    if let Some(lab) = inp.labels {
        for (r, a) in rows.iter().enumerate() {
            label_sources[r] = lab.sources.get(a).cloned();
        }
        let cat: Vec<Option<u16>> = rows.iter().map(|a| lab.of.get(a).copied()).collect();
        for (r, c) in cat.iter().enumerate() {
            labels[r] = c.map(|c| lab.categories[c as usize].clone());
        }
        let (d, extra) = super::label_shares(&g, &cat, &lab.categories);
        defs.extend(d);
        cols.extend(extra);
    }
    WindowFeatures {
        window: inp.window,
        blocks: c
            .txs
            .iter()
            .map(|t| t.block)
            .chain(c.transfers.iter().map(|t| t.block))
            .filter(|&b| b >= sb)
            .fold(None, |acc: Option<(i64, i64)>, b| {
                Some(acc.map_or((b, b), |(lo, hi)| (lo.min(b), hi.max(b))))
            }),
        ids: rows.iter().map(|&a| c.names[a as usize].clone()).collect(),
        representative: Vec::new(),
        labels,
        label_sources,
        columns: cols,
        defs,
    }
}

/// Distinct values of a sorted list and the length of its longest run.
fn runs(v: &[u32]) -> (usize, usize) {
    let (mut distinct, mut best, mut cur) = (0usize, 0usize, 0usize);
    for (i, x) in v.iter().enumerate() {
        if i == 0 || v[i - 1] != *x {
            distinct += 1;
            cur = 0;
        }
        cur += 1;
        best = best.max(cur);
    }
    (distinct, best)
}
