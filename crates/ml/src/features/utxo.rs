//! Features of Bitcoin-family actors over the UTXO ledger of the chain up to a window's
//! end (pure: a [`Ledger`] in, columns out; tested on hand-built ledgers).
//!
//! Values are in base units (satoshi, litoshi, …), times in days or hours as named,
//! shares in [0, 1]. A statistic of an empty list (no output received in the window, a
//! single transaction and so no interval) is missing (NaN, a null in Parquet), which the
//! tree models handle. "Its transactions" are the window's transactions with an input or
//! an output of the actor; "spending transactions" those with an input of it; "paying
//! transactions" those with an output to it.

use ledgerflow_entities::coinjoin;
use ledgerflow_entities::ledger::{AddrType, Ledger, NONE};
use ledgerflow_graph::algo::{pagerank, weak_components, PageRankOptions};
use ledgerflow_graph::csr::{Csr, Edge};

use super::{
    activity, feature_list, ratio, stats, AddressLabels, FeatureDef, Level, Window, WindowFeatures,
};

/// A value is round when it is a multiple of this many base units (0.001 coin).
pub const ROUND_UNIT: i64 = 100_000;
/// … and very round at 0.01 coin.
pub const ROUND_UNIT_BIG: i64 = 1_000_000;
/// Outputs below this many base units count as dust.
pub const DUST_LIMIT: i64 = 1_000;

feature_list! { UTXO, F;
    // counts
    tx_count, Counts, "Transactions in the window with an input or an output of the actor.";
    received_tx_count, Counts, "Transactions in the window paying the actor (an output to one of its addresses).";
    sent_tx_count, Counts, "Transactions in the window spending from the actor (an input of one of its addresses).";
    self_tx_count, Counts, "Transactions in the window that both spend from and pay the actor (change back to itself).";
    output_count, Counts, "Outputs paying the actor in the window.";
    input_count, Counts, "Inputs spending from the actor in the window.";
    in_counterparties, Counts, "Distinct other actors that spent into a transaction paying the actor (in-degree of the window's transaction graph).";
    out_counterparties, Counts, "Distinct other actors paid by a transaction the actor spends in (out-degree).";
    counterparties, Counts, "Distinct other actors on either side (in- or out-neighbours, counted once).";
    address_count, Counts, "Addresses of the actor with an input or an output in the window (1 at address level).";
    address_count_total, Counts, "Addresses of the actor seen from the chain's start to the window end (entity size at entity level).";
    new_address_count, Counts, "Addresses of the actor first seen in the window.";
    tx_count_total, Counts, "Transactions of the actor from the chain's start to the window end.";
    utxo_count, Counts, "Unspent outputs the actor holds at the window end.";
    // values
    received_value, Values, "Value of the outputs paying the actor in the window (base units; change included).";
    sent_value, Values, "Value of the inputs spending from the actor in the window.";
    net_value, Values, "received_value − sent_value.";
    balance, Values, "What the actor holds at the window end: everything received minus everything spent, from the chain's start.";
    balance_start, Values, "What the actor held at the window start.";
    balance_max, Values, "Highest balance after any of its transactions in the window (or at the start).";
    received_external_value, Values, "Value received in transactions the actor does not spend in (payments from others, not change).";
    paid_value, Values, "Value of the outputs to other actors in its spending transactions.";
    change_value, Values, "Value of the outputs back to the actor in its spending transactions.";
    fee_value, Values, "Fees of its spending transactions, each times the actor's share of the transaction's input value.";
    fee_per_tx_mean, Values, "fee_value / sent_tx_count.";
    received_total_value, Values, "Value received from the chain's start to the window end.";
    sent_total_value, Values, "Value spent from the chain's start to the window end.";
    utxo_value_mean, Values, "Mean value of the unspent outputs it holds at the window end.";
    recv_amount_min, Values, "Smallest output paying the actor in the window.";
    recv_amount_max, Values, "Largest output paying the actor in the window.";
    recv_amount_mean, Values, "Mean output paying the actor in the window.";
    recv_amount_median, Values, "Median output paying the actor in the window.";
    recv_amount_std, Values, "Population standard deviation of the outputs paying the actor.";
    spent_amount_min, Values, "Smallest input spent by the actor in the window.";
    spent_amount_max, Values, "Largest input spent by the actor in the window.";
    spent_amount_mean, Values, "Mean input spent by the actor in the window.";
    spent_amount_median, Values, "Median input spent by the actor in the window.";
    spent_amount_std, Values, "Population standard deviation of the inputs spent.";
    paid_amount_min, Values, "Smallest output to another actor in its spending transactions.";
    paid_amount_max, Values, "Largest output to another actor in its spending transactions.";
    paid_amount_mean, Values, "Mean output to another actor in its spending transactions.";
    paid_amount_median, Values, "Median output to another actor in its spending transactions.";
    paid_amount_std, Values, "Population standard deviation of the outputs to other actors.";
    round_received_share, Values, "Share of the outputs paying it whose value is a multiple of 0.001 coin (100 000 base units).";
    round_paid_share, Values, "Share of its outputs to others whose value is a multiple of 0.001 coin.";
    round_paid_share_big, Values, "Share of its outputs to others whose value is a multiple of 0.01 coin.";
    dust_received_share, Values, "Share of the outputs paying it below 1 000 base units.";
    // time
    age_days, Time, "Days from the actor's first transaction (from the chain's start) to the window end.";
    lifetime_days, Time, "Days from its first to its last transaction, up to the window end.";
    recency_days, Time, "Days from its last transaction to the window end.";
    first_seen_in_window, Time, "1 when the actor's first transaction is in the window, else 0.";
    active_days, Time, "Distinct UTC days of the window with a transaction of the actor.";
    active_blocks, Time, "Distinct blocks of the window with a transaction of the actor.";
    span_days, Time, "Days from its first to its last transaction in the window.";
    tx_per_active_day, Time, "tx_count / active_days.";
    interval_min_hours, Time, "Shortest gap between consecutive transactions of the actor in the window (hours).";
    interval_max_hours, Time, "Longest gap between consecutive transactions (hours).";
    interval_mean_hours, Time, "Mean gap between consecutive transactions (hours).";
    interval_median_hours, Time, "Median gap between consecutive transactions (hours).";
    interval_std_hours, Time, "Population standard deviation of the gaps (hours).";
    burstiness, Time, "(σ − μ)/(σ + μ) of the gaps (Goh and Barabási): −1 regular, 0 random, → 1 bursty.";
    hour_share_00_04, Time, "Share of its transactions in blocks stamped 00:00–03:59 UTC.";
    hour_share_04_08, Time, "Share in blocks stamped 04:00–07:59 UTC.";
    hour_share_08_12, Time, "Share in blocks stamped 08:00–11:59 UTC.";
    hour_share_12_16, Time, "Share in blocks stamped 12:00–15:59 UTC.";
    hour_share_16_20, Time, "Share in blocks stamped 16:00–19:59 UTC.";
    hour_share_20_24, Time, "Share in blocks stamped 20:00–23:59 UTC.";
    hour_entropy, Time, "Entropy (bits) of its transactions over the 24 hours of the day.";
    weekday_share_mon, Time, "Share of its transactions on Mondays (UTC).";
    weekday_share_tue, Time, "Share on Tuesdays.";
    weekday_share_wed, Time, "Share on Wednesdays.";
    weekday_share_thu, Time, "Share on Thursdays.";
    weekday_share_fri, Time, "Share on Fridays.";
    weekday_share_sat, Time, "Share on Saturdays.";
    weekday_share_sun, Time, "Share on Sundays.";
    weekday_entropy, Time, "Entropy (bits) of its transactions over the days of the week.";
    hold_time_mean_days, Time, "Mean age of the outputs it spent in the window, at spending (days; outputs from before the lake not counted).";
    hold_time_median_days, Time, "Median age of the outputs it spent (days).";
    hold_time_max_days, Time, "Greatest age of an output it spent (days).";
    fast_spend_share, Time, "Share of the outputs it spent that were less than an hour old.";
    days_since_received, Time, "Days from the last transaction paying it in the window to the window end.";
    days_since_sent, Time, "Days from its last spending transaction in the window to the window end.";
    // structure
    degree_ratio, Structure, "out_counterparties / (in_counterparties + out_counterparties).";
    reciprocity, Structure, "Share of its counterparties that it both paid and was paid by.";
    fan_in_mean, Structure, "Mean number of inputs of its spending transactions.";
    fan_in_max, Structure, "Most inputs of one of its spending transactions.";
    fan_out_mean, Structure, "Mean number of outputs of its spending transactions.";
    fan_out_max, Structure, "Most outputs of one of its spending transactions.";
    payer_inputs_mean, Structure, "Mean number of inputs of the transactions paying it.";
    payer_outputs_mean, Structure, "Mean number of outputs of the transactions paying it.";
    self_churn_share, Structure, "change_value / sent_value: how much of what it spends comes back to it.";
    change_tx_share, Structure, "Share of its spending transactions with an output back to it.";
    outputs_per_address, Structure, "output_count / address_count: address reuse (1: a fresh address per payment).";
    reused_address_share, Structure, "Share of its active addresses paid more than once in the window.";
    script_share_p2pk, Structure, "Share of the outputs paying it that are P2PK.";
    script_share_p2pkh, Structure, "Share that are P2PKH.";
    script_share_p2sh, Structure, "Share that are P2SH.";
    script_share_multisig, Structure, "Share that are bare multisig.";
    script_share_p2wpkh, Structure, "Share that are P2WPKH.";
    script_share_p2wsh, Structure, "Share that are P2WSH.";
    script_share_p2tr, Structure, "Share that are P2TR.";
    script_share_other, Structure, "Share of other classes (witness_unknown, nonstandard).";
    script_type_count, Structure, "Distinct script classes of the outputs paying it.";
    coinbase_output_share, Structure, "Share of the outputs paying it that are coinbase outputs (mining rewards).";
    coinbase_value_share, Structure, "Share of the value received that came from coinbase outputs.";
    coinbase_tx_count, Structure, "Coinbase transactions paying it in the window.";
    coinjoin_tx_count, Structure, "Detected CoinJoins (Whirlpool, Wasabi, JoinMarket, equal-output) it put an input into.";
    coinjoin_share, Structure, "coinjoin_tx_count / sent_tx_count.";
    coinjoin_value_share, Structure, "Share of the value it spent that went into CoinJoins.";
    consolidation_share, Structure, "Share of its spending transactions with at least 3 inputs and exactly 1 output.";
    batch_payout_share, Structure, "Share of its spending transactions with at least 5 outputs.";
    peel_share, Structure, "Share of its spending transactions shaped 1 input, 2 outputs that spend an output of a transaction of the same shape (a peel chain, looking back only).";
    single_input_share, Structure, "Share of its spending transactions with exactly 1 input.";
    op_return_share, Structure, "Share of its spending transactions with an OP_RETURN output.";
    locktime_share, Structure, "Share of its spending transactions with a non-zero lock time (a wallet fingerprint).";
    multi_sender_received_share, Structure, "Share of the transactions paying it that spend from two or more other actors.";
    // neighbourhood
    pagerank, Neighbourhood, "Weighted PageRank (α 0.85) in the window's transaction graph, times the number of its nodes (1: average).";
    component_size, Neighbourhood, "Actors in its weakly connected component of the window's transaction graph.";
    neigh_degree_sum, Neighbourhood, "Sum of its counterparties' counterparties.";
    neigh_max_counterparties, Neighbourhood, "Most counterparties of one of its counterparties.";
    neigh_mean_tx_count, Neighbourhood, "Mean tx_count of its counterparties.";
    neigh_mean_received_value, Neighbourhood, "Mean received_value of its counterparties.";
    neigh_mean_sent_value, Neighbourhood, "Mean sent_value of its counterparties.";
    neigh_mean_balance, Neighbourhood, "Mean balance of its counterparties.";
    neigh_mean_counterparties, Neighbourhood, "Mean counterparties of its counterparties.";
    neigh_mean_age_days, Neighbourhood, "Mean age_days of its counterparties.";
    neigh_mean_address_count_total, Neighbourhood, "Mean address_count_total of its counterparties.";
    neigh_mean_coinbase_output_share, Neighbourhood, "Mean coinbase_output_share of its counterparties.";
    neigh_mean_coinjoin_share, Neighbourhood, "Mean coinjoin_share of its counterparties.";
    in_neigh_mean_balance, Neighbourhood, "Mean balance of the actors that paid it.";
    out_neigh_mean_balance, Neighbourhood, "Mean balance of the actors it paid.";
    in_value_top_share, Neighbourhood, "Share of the value it received from others that came from its largest payer.";
    out_value_top_share, Neighbourhood, "Share of the value it paid to others that went to its largest payee.";
}

/// What to compute features of.
#[derive(Debug, Clone, Copy)]
pub struct UtxoInput<'a> {
    /// The chain up to the window's end (nothing later).
    pub ledger: &'a Ledger,
    /// The window's first transaction (the ones before it are history).
    pub start_tx: usize,
    pub window: Window,
    pub level: Level,
    /// At entity level: the entity id of every address.
    pub entity_of: Option<&'a [u32]>,
    /// Address labels: neighbourhood label shares and the label column.
    pub labels: Option<&'a AddressLabels>,
    /// Threads for PageRank (the result is identical for any count).
    pub threads: usize,
}

#[derive(Default)]
struct Acc {
    actor: u32,
    tx: u32,
    recv_tx: u32,
    sent_tx: u32,
    self_tx: u32,
    outputs: u32,
    inputs: u32,
    received: f64,
    sent: f64,
    recv_external: f64,
    paid: f64,
    change: f64,
    fee: f64,
    cum: f64,
    cum_max: f64,
    recv_vals: Vec<f64>,
    spent_vals: Vec<f64>,
    paid_vals: Vec<f64>,
    round_recv: u32,
    round_paid: u32,
    round_paid_big: u32,
    dust_recv: u32,
    times: Vec<i64>,
    blocks: u32,
    last_height: Option<i64>,
    hold: Vec<f64>,
    fast_spend: u32,
    last_recv_time: Option<i64>,
    last_sent_time: Option<i64>,
    fan_in_sum: u64,
    fan_in_max: u32,
    fan_out_sum: u64,
    fan_out_max: u32,
    payer_in_sum: u64,
    payer_out_sum: u64,
    change_tx: u32,
    script: [u32; 10],
    cb_outputs: u32,
    cb_value: f64,
    cb_tx: u32,
    cj_tx: u32,
    cj_value: f64,
    consolidation: u32,
    batch: u32,
    peel: u32,
    single_in: u32,
    op_return: u32,
    locktime: u32,
    multi_sender: u32,
    active_addrs: u32,
    reused_addrs: u32,
    new_addrs: u32,
    // history, from the chain's start to the window end
    addr_total: u32,
    tx_total: u32,
    first_tx: u32,
    first_time: i64,
    last_time: i64,
    recv_total: f64,
    sent_total: f64,
    pre_recv: f64,
    pre_sent: f64,
    utxo_n: u32,
    utxo_value: f64,
}

fn add_to(list: &mut Vec<(u32, f64)>, actor: u32, v: f64) {
    match list.iter_mut().find(|(a, _)| *a == actor) {
        Some(e) => e.1 += v,
        None => list.push((actor, v)),
    }
}

fn peel_shape(l: &Ledger, t: u32) -> bool {
    let tx = &l.txs[t as usize];
    !tx.coinbase && tx.in_end - tx.in_start == 1 && tx.out_end - tx.out_start == 2
}

/// The features of one window.
pub fn compute(inp: &UtxoInput<'_>) -> WindowFeatures {
    let l = inp.ledger;
    let n_addr = l.book.len();
    let actor_of = |a: u32| -> u32 {
        match inp.entity_of {
            Some(e) => e[a as usize],
            None => a,
        }
    };
    let start = inp.start_tx.min(l.txs.len());
    let first_height = l.txs.get(start).map(|t| t.height);
    let blocks = first_height.and_then(|f| l.txs.last().map(|t| (f, t.height)));

    // Window pass: slots in order of first activity.
    let mut slot_of: Vec<u32> = vec![NONE; n_addr];
    let mut accs: Vec<Acc> = Vec::new();
    fn slot(slot_of: &mut [u32], accs: &mut Vec<Acc>, actor: u32) -> usize {
        let s = &mut slot_of[actor as usize];
        if *s == NONE {
            *s = accs.len() as u32;
            accs.push(Acc {
                actor,
                ..Acc::default()
            });
        }
        *s as usize
    }
    let mut addr_out: Vec<u32> = vec![0; n_addr];
    let mut addr_active: Vec<bool> = vec![false; n_addr];
    let mut edges: Vec<Edge> = Vec::new();
    let mut senders: Vec<(u32, f64)> = Vec::new();
    let mut receivers: Vec<(u32, f64)> = Vec::new();
    for t in start..l.txs.len() {
        let t32 = t as u32;
        let tx = &l.txs[t];
        let ins = l.inputs_of(t32);
        let outs = l.outputs_of(t32);
        senders.clear();
        receivers.clear();
        let mut total_in = 0f64;
        for i in ins {
            total_in += i.value as f64;
            if i.addr != NONE {
                addr_active[i.addr as usize] = true;
                let s = slot(&mut slot_of, &mut accs, actor_of(i.addr));
                add_to(&mut senders, s as u32, i.value as f64);
                let a = &mut accs[s];
                a.inputs += 1;
                a.sent += i.value as f64;
                a.spent_vals.push(i.value as f64);
                if i.spent_tx != NONE {
                    let dt = (tx.time - l.txs[i.spent_tx as usize].time).max(0);
                    a.hold.push(dt as f64 / 86_400.0);
                    if dt < 3600 {
                        a.fast_spend += 1;
                    }
                }
            }
        }
        let total_out: f64 = outs.iter().map(|o| o.value as f64).sum();
        for o in outs {
            if o.addr == NONE {
                continue;
            }
            addr_active[o.addr as usize] = true;
            addr_out[o.addr as usize] += 1;
            let s = slot(&mut slot_of, &mut accs, actor_of(o.addr));
            add_to(&mut receivers, s as u32, o.value as f64);
            let a = &mut accs[s];
            a.outputs += 1;
            a.received += o.value as f64;
            a.recv_vals.push(o.value as f64);
            a.script[o.kind.index()] += 1;
            if o.value > 0 && o.value % ROUND_UNIT == 0 {
                a.round_recv += 1;
            }
            if o.value < DUST_LIMIT {
                a.dust_recv += 1;
            }
            if tx.coinbase {
                a.cb_outputs += 1;
                a.cb_value += o.value as f64;
            }
        }
        let fee = if tx.coinbase {
            0.0
        } else {
            (total_in - total_out).max(0.0)
        };
        let cj = !senders.is_empty() && coinjoin::detect(l, t32).is_some();
        let peel = peel_shape(l, t32) && {
            let prev = ins[0].spent_tx;
            prev != NONE && peel_shape(l, prev)
        };
        let op_ret = outs.iter().any(|o| o.kind == AddrType::NullData);
        for &(s, v) in &senders {
            let back = receivers.iter().find(|(r, _)| *r == s).map_or(0.0, |e| e.1);
            let a = &mut accs[s as usize];
            a.sent_tx += 1;
            a.fan_in_sum += ins.len() as u64;
            a.fan_in_max = a.fan_in_max.max(ins.len() as u32);
            a.fan_out_sum += outs.len() as u64;
            a.fan_out_max = a.fan_out_max.max(outs.len() as u32);
            a.change += back;
            if back > 0.0 {
                a.change_tx += 1;
            }
            if total_in > 0.0 {
                a.fee += fee * v / total_in;
            }
            if cj {
                a.cj_tx += 1;
                a.cj_value += v;
            }
            a.consolidation += u32::from(ins.len() >= 3 && outs.len() == 1);
            a.batch += u32::from(outs.len() >= 5);
            a.peel += u32::from(peel);
            a.single_in += u32::from(ins.len() == 1);
            a.op_return += u32::from(op_ret);
            a.locktime += u32::from(tx.lock_time != 0);
            a.last_sent_time = Some(tx.time);
            for o in outs {
                if o.addr != NONE && slot_of[actor_of(o.addr) as usize] != s {
                    a.paid += o.value as f64;
                    a.paid_vals.push(o.value as f64);
                    if o.value > 0 && o.value % ROUND_UNIT == 0 {
                        a.round_paid += 1;
                    }
                    if o.value > 0 && o.value % ROUND_UNIT_BIG == 0 {
                        a.round_paid_big += 1;
                    }
                }
            }
        }
        for &(r, v) in &receivers {
            let sends_too = senders.iter().any(|(s, _)| *s == r);
            let others = senders.iter().filter(|(s, _)| *s != r).count();
            let a = &mut accs[r as usize];
            a.recv_tx += 1;
            a.payer_in_sum += ins.len() as u64;
            a.payer_out_sum += outs.len() as u64;
            if !sends_too {
                a.recv_external += v;
            }
            a.cb_tx += u32::from(tx.coinbase);
            a.multi_sender += u32::from(others >= 2);
            a.last_recv_time = Some(tx.time);
        }
        // every actor of the transaction once
        for k in 0..senders.len() + receivers.len() {
            let (s, both) = if k < senders.len() {
                let s = senders[k].0;
                (s, receivers.iter().any(|(r, _)| *r == s))
            } else {
                let r = receivers[k - senders.len()].0;
                if senders.iter().any(|(s, _)| *s == r) {
                    continue;
                }
                (r, false)
            };
            let sent = senders.iter().find(|e| e.0 == s).map_or(0.0, |e| e.1);
            let got = receivers.iter().find(|e| e.0 == s).map_or(0.0, |e| e.1);
            let a = &mut accs[s as usize];
            a.tx += 1;
            a.self_tx += u32::from(both);
            a.times.push(tx.time);
            if a.last_height != Some(tx.height) {
                a.blocks += 1;
                a.last_height = Some(tx.height);
            }
            a.cum += got - sent;
            a.cum_max = a.cum_max.max(a.cum);
        }
        if total_in > 0.0 {
            for &(s, vs) in &senders {
                for &(r, vr) in &receivers {
                    if s != r {
                        edges.push(Edge {
                            src: s,
                            dst: r,
                            weight: vr * vs / total_in,
                        });
                    }
                }
            }
        }
    }

    // Addresses: activity, reuse, novelty and totals per actor.
    for a in 0..n_addr {
        let s = slot_of[actor_of(a as u32) as usize];
        if s == NONE {
            continue;
        }
        let acc = &mut accs[s as usize];
        acc.addr_total += 1;
        if addr_active[a] {
            acc.active_addrs += 1;
            acc.reused_addrs += u32::from(addr_out[a] > 1);
            if first_height.is_some_and(|f| l.book.first_height[a] >= f) {
                acc.new_addrs += 1;
            }
        }
    }

    // History pass, from the chain's start to the window end.
    let mut seen: Vec<u32> = Vec::new();
    for acc in &mut accs {
        acc.first_tx = NONE;
    }
    for t in 0..l.txs.len() {
        let t32 = t as u32;
        let tx = &l.txs[t];
        seen.clear();
        for i in l.inputs_of(t32) {
            if i.addr == NONE {
                continue;
            }
            let s = slot_of[actor_of(i.addr) as usize];
            if s == NONE {
                continue;
            }
            let a = &mut accs[s as usize];
            a.sent_total += i.value as f64;
            if t < start {
                a.pre_sent += i.value as f64;
            }
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
        for o in l.outputs_of(t32) {
            if o.addr == NONE {
                continue;
            }
            let s = slot_of[actor_of(o.addr) as usize];
            if s == NONE {
                continue;
            }
            let a = &mut accs[s as usize];
            a.recv_total += o.value as f64;
            if t < start {
                a.pre_recv += o.value as f64;
            }
            if o.spent_by == NONE {
                a.utxo_n += 1;
                a.utxo_value += o.value as f64;
            }
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
        for &s in &seen {
            let a = &mut accs[s as usize];
            a.tx_total += 1;
            if a.first_tx == NONE {
                a.first_tx = t32;
                a.first_time = tx.time;
            }
            a.last_time = tx.time;
        }
    }

    // Rows in actor id order.
    let mut order: Vec<usize> = (0..accs.len()).collect();
    order.sort_by_key(|&s| accs[s].actor);
    let mut rank = vec![0u32; accs.len()];
    for (r, &s) in order.iter().enumerate() {
        rank[s] = r as u32;
    }
    let m = accs.len();
    let edges: Vec<Edge> = edges
        .into_iter()
        .map(|e| Edge {
            src: rank[e.src as usize],
            dst: rank[e.dst as usize],
            weight: e.weight,
        })
        .collect();
    let g = Csr::from_edges(m, &edges);
    let mut accs: Vec<Acc> = {
        let mut v: Vec<Option<Acc>> = accs.into_iter().map(Some).collect();
        order.iter().filter_map(|&s| v[s].take()).collect()
    };

    let nf = UTXO.len();
    let mut cols: Vec<Vec<f64>> = vec![vec![f64::NAN; m]; nf];
    let end = inp.window.end;
    for (r, a) in accs.iter_mut().enumerate() {
        let mut set = |f: F, v: f64| cols[f as usize][r] = v;
        let (out_n, in_n) = (g.out_degree(r as u32), g.in_degree(r as u32));
        let (outs, _) = g.out(r as u32);
        let (inns, _) = g.inn(r as u32);
        let both = sorted_intersection(outs, inns);
        let cp = out_n + in_n - both;
        set(F::tx_count, a.tx as f64);
        set(F::received_tx_count, a.recv_tx as f64);
        set(F::sent_tx_count, a.sent_tx as f64);
        set(F::self_tx_count, a.self_tx as f64);
        set(F::output_count, a.outputs as f64);
        set(F::input_count, a.inputs as f64);
        set(F::in_counterparties, in_n as f64);
        set(F::out_counterparties, out_n as f64);
        set(F::counterparties, cp as f64);
        set(F::address_count, a.active_addrs as f64);
        set(F::address_count_total, a.addr_total as f64);
        set(F::new_address_count, a.new_addrs as f64);
        set(F::tx_count_total, a.tx_total as f64);
        set(F::utxo_count, a.utxo_n as f64);

        let bal_start = a.pre_recv - a.pre_sent;
        set(F::received_value, a.received);
        set(F::sent_value, a.sent);
        set(F::net_value, a.received - a.sent);
        set(F::balance, a.recv_total - a.sent_total);
        set(F::balance_start, bal_start);
        set(F::balance_max, bal_start + a.cum_max.max(0.0));
        set(F::received_external_value, a.recv_external);
        set(F::paid_value, a.paid);
        set(F::change_value, a.change);
        set(F::fee_value, a.fee);
        set(F::fee_per_tx_mean, ratio(a.fee, a.sent_tx as f64));
        set(F::received_total_value, a.recv_total);
        set(F::sent_total_value, a.sent_total);
        set(F::utxo_value_mean, ratio(a.utxo_value, a.utxo_n as f64));
        let recv_n = a.recv_vals.len() as f64;
        let paid_n = a.paid_vals.len() as f64;
        let s = stats(&mut a.recv_vals);
        for (i, &v) in s.iter().enumerate() {
            set(F::recv_amount_min.nth(i), v);
        }
        let s = stats(&mut a.spent_vals);
        for (i, &v) in s.iter().enumerate() {
            set(F::spent_amount_min.nth(i), v);
        }
        let s = stats(&mut a.paid_vals);
        for (i, &v) in s.iter().enumerate() {
            set(F::paid_amount_min.nth(i), v);
        }
        set(F::round_received_share, ratio(a.round_recv as f64, recv_n));
        set(F::round_paid_share, ratio(a.round_paid as f64, paid_n));
        set(
            F::round_paid_share_big,
            ratio(a.round_paid_big as f64, paid_n),
        );
        set(F::dust_received_share, ratio(a.dust_recv as f64, recv_n));

        // time
        let day = 86_400.0;
        set(F::age_days, (end - a.first_time) as f64 / day);
        set(F::lifetime_days, (a.last_time - a.first_time) as f64 / day);
        set(F::recency_days, (end - a.last_time) as f64 / day);
        set(
            F::first_seen_in_window,
            f64::from(u8::from(a.first_tx as usize >= start)),
        );
        a.times.sort_unstable();
        let act = activity(&a.times);
        set(F::active_days, act.days as f64);
        set(F::active_blocks, a.blocks as f64);
        set(F::span_days, act.span_days);
        set(F::tx_per_active_day, ratio(a.tx as f64, act.days as f64));
        for (i, &v) in act.run.iter().enumerate() {
            set(F::interval_min_hours.nth(i), v);
        }
        let held = a.hold.len() as f64;
        let s = stats(&mut a.hold);
        set(F::hold_time_mean_days, s[2]);
        set(F::hold_time_median_days, s[3]);
        set(F::hold_time_max_days, s[1]);
        set(F::fast_spend_share, ratio(a.fast_spend as f64, held));
        set(
            F::days_since_received,
            a.last_recv_time
                .map_or(f64::NAN, |t| (end - t) as f64 / day),
        );
        set(
            F::days_since_sent,
            a.last_sent_time
                .map_or(f64::NAN, |t| (end - t) as f64 / day),
        );

        // structure
        let sent_tx = a.sent_tx as f64;
        set(F::degree_ratio, ratio(out_n as f64, (in_n + out_n) as f64));
        set(F::reciprocity, ratio(both as f64, cp as f64));
        set(F::fan_in_mean, ratio(a.fan_in_sum as f64, sent_tx));
        set(
            F::fan_in_max,
            if a.sent_tx > 0 {
                a.fan_in_max as f64
            } else {
                f64::NAN
            },
        );
        set(F::fan_out_mean, ratio(a.fan_out_sum as f64, sent_tx));
        set(
            F::fan_out_max,
            if a.sent_tx > 0 {
                a.fan_out_max as f64
            } else {
                f64::NAN
            },
        );
        set(
            F::payer_inputs_mean,
            ratio(a.payer_in_sum as f64, a.recv_tx as f64),
        );
        set(
            F::payer_outputs_mean,
            ratio(a.payer_out_sum as f64, a.recv_tx as f64),
        );
        set(F::self_churn_share, ratio(a.change, a.sent));
        set(F::change_tx_share, ratio(a.change_tx as f64, sent_tx));
        set(
            F::outputs_per_address,
            ratio(a.outputs as f64, a.active_addrs as f64),
        );
        set(
            F::reused_address_share,
            ratio(a.reused_addrs as f64, a.active_addrs as f64),
        );
        let sc = &a.script;
        let idx = |k: AddrType| sc[k.index()] as f64;
        let other = idx(AddrType::WitnessUnknown) + idx(AddrType::NonStandard);
        for (f, v) in [
            (F::script_share_p2pk, idx(AddrType::PubKey)),
            (F::script_share_p2pkh, idx(AddrType::PubKeyHash)),
            (F::script_share_p2sh, idx(AddrType::ScriptHash)),
            (F::script_share_multisig, idx(AddrType::Multisig)),
            (F::script_share_p2wpkh, idx(AddrType::WitnessV0KeyHash)),
            (F::script_share_p2wsh, idx(AddrType::WitnessV0ScriptHash)),
            (F::script_share_p2tr, idx(AddrType::WitnessV1Taproot)),
            (F::script_share_other, other),
        ] {
            set(f, ratio(v, recv_n));
        }
        set(
            F::script_type_count,
            sc.iter().filter(|&&c| c > 0).count() as f64,
        );
        set(F::coinbase_output_share, ratio(a.cb_outputs as f64, recv_n));
        set(F::coinbase_value_share, ratio(a.cb_value, a.received));
        set(F::coinbase_tx_count, a.cb_tx as f64);
        set(F::coinjoin_tx_count, a.cj_tx as f64);
        set(F::coinjoin_share, ratio(a.cj_tx as f64, sent_tx));
        set(F::coinjoin_value_share, ratio(a.cj_value, a.sent));
        set(
            F::consolidation_share,
            ratio(a.consolidation as f64, sent_tx),
        );
        set(F::batch_payout_share, ratio(a.batch as f64, sent_tx));
        set(F::peel_share, ratio(a.peel as f64, sent_tx));
        set(F::single_input_share, ratio(a.single_in as f64, sent_tx));
        set(F::op_return_share, ratio(a.op_return as f64, sent_tx));
        set(F::locktime_share, ratio(a.locktime as f64, sent_tx));
        set(
            F::multi_sender_received_share,
            ratio(a.multi_sender as f64, a.recv_tx as f64),
        );
    }

    // neighbourhood
    let pr = pagerank(
        &g,
        &PageRankOptions {
            threads: inp.threads.max(1),
            ..PageRankOptions::default()
        },
    );
    let comp = weak_components(&g);
    let mut comp_size = vec![0u32; m];
    for &c in &comp {
        comp_size[c as usize] += 1;
    }
    let col = |cols: &Vec<Vec<f64>>, f: F, r: u32| cols[f as usize][r as usize];
    let mut neigh: Vec<u32> = Vec::new();
    for r in 0..m as u32 {
        let (outs, ow) = g.out(r);
        let (inns, iw) = g.inn(r);
        neigh.clear();
        neigh.extend_from_slice(outs);
        neigh.extend_from_slice(inns);
        neigh.sort_unstable();
        neigh.dedup();
        let mean = |cols: &Vec<Vec<f64>>, f: F, list: &[u32]| -> f64 {
            let vals: Vec<f64> = list
                .iter()
                .map(|&u| col(cols, f, u))
                .filter(|v| !v.is_nan())
                .collect();
            ratio(vals.iter().sum(), vals.len() as f64)
        };
        let mut row: Vec<(F, f64)> = vec![
            (F::pagerank, pr.scores[r as usize] * m as f64),
            (
                F::component_size,
                comp_size[comp[r as usize] as usize] as f64,
            ),
            (
                F::neigh_degree_sum,
                neigh
                    .iter()
                    .map(|&u| col(&cols, F::counterparties, u))
                    .sum(),
            ),
            (
                F::neigh_max_counterparties,
                neigh
                    .iter()
                    .map(|&u| col(&cols, F::counterparties, u))
                    .fold(f64::NAN, f64::max),
            ),
        ];
        for (f, src) in [
            (F::neigh_mean_tx_count, F::tx_count),
            (F::neigh_mean_received_value, F::received_value),
            (F::neigh_mean_sent_value, F::sent_value),
            (F::neigh_mean_balance, F::balance),
            (F::neigh_mean_counterparties, F::counterparties),
            (F::neigh_mean_age_days, F::age_days),
            (F::neigh_mean_address_count_total, F::address_count_total),
            (
                F::neigh_mean_coinbase_output_share,
                F::coinbase_output_share,
            ),
            (F::neigh_mean_coinjoin_share, F::coinjoin_share),
        ] {
            row.push((f, mean(&cols, src, &neigh)));
        }
        row.push((F::in_neigh_mean_balance, mean(&cols, F::balance, inns)));
        row.push((F::out_neigh_mean_balance, mean(&cols, F::balance, outs)));
        let top = |w: &[f64]| {
            let s: f64 = w.iter().sum();
            ratio(w.iter().copied().fold(0.0, f64::max), s)
        };
        row.push((F::in_value_top_share, top(iw)));
        row.push((F::out_value_top_share, top(ow)));
        for (f, v) in row {
            cols[f as usize][r as usize] = v;
        }
    }

    let mut defs: Vec<FeatureDef> = UTXO
        .iter()
        .map(|(n, fam, d)| FeatureDef {
            name: n.to_string(),
            family: *fam,
            definition: d.to_string(),
        })
        .collect();

    // labels: the actor's (majority of its labelled addresses) and its neighbours'
    let mut labels: Vec<Option<String>> = vec![None; m];
    let mut label_sources: Vec<Option<String>> = vec![None; m];
    if let Some(lab) = inp.labels {
        let nc = lab.categories.len();
        let mut counts: Vec<Vec<u32>> = vec![Vec::new(); m];
        let mut firsts: Vec<Vec<u32>> = vec![Vec::new(); m];
        for (&a, &c) in &lab.of {
            if a as usize >= n_addr {
                continue;
            }
            let s = slot_of[actor_of(a) as usize];
            if s == NONE {
                continue;
            }
            // slot_of holds first-activity slots; rows are in rank order
            let r = rank[s as usize] as usize;
            let v = &mut counts[r];
            if v.is_empty() {
                v.resize(nc, 0);
                firsts[r].resize(nc, NONE);
            }
            v[c as usize] += 1;
            if firsts[r][c as usize] == NONE {
                firsts[r][c as usize] = a;
            }
        }
        let cat: Vec<Option<u16>> = counts
            .iter()
            .map(|v| {
                let best = v.iter().copied().max().filter(|&b| b > 0)?;
                v.iter().position(|&c| c == best).map(|p| p as u16)
            })
            .collect();
        for r in 0..m {
            labels[r] = cat[r].map(|c| lab.categories[c as usize].clone());
            label_sources[r] = cat[r]
                .and_then(|c| lab.sources.get(&firsts[r][c as usize]))
                .cloned();
        }
        let (d, extra) = super::label_shares(&g, &cat, &lab.categories);
        defs.extend(d);
        cols.extend(extra);
    }

    let ids: Vec<String> = accs
        .iter()
        .map(|a| match inp.level {
            Level::Address => l.book.name(a.actor).to_string(),
            Level::Entity => a.actor.to_string(),
        })
        .collect();
    let representative = match inp.level {
        Level::Address => Vec::new(),
        Level::Entity => accs
            .iter()
            .map(|a| l.book.name(a.actor).to_string())
            .collect(),
    };
    WindowFeatures {
        window: inp.window,
        blocks,
        ids,
        representative,
        labels,
        label_sources,
        columns: cols,
        defs,
    }
}

fn sorted_intersection(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}
