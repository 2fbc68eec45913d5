//! Features checked against values computed by hand on small chains.

use ledgerflow_entities::ledger::{AddrType, InputSpec, Ledger, LedgerBuilder, OutputSpec};

use super::evm::{self, EvmChain, EvmInput, EvmTransfer, EvmTx};
use super::utxo::{self, UtxoInput};
use super::{AddressLabels, Level, Window, WindowFeatures};

const T0: i64 = 1_700_000_000; // Tuesday 2023-11-14 22:13:20 UTC

fn h(n: u32) -> String {
    format!("{n:064x}")
}
fn out(a: &str, v: i64) -> OutputSpec {
    OutputSpec {
        address: a.into(),
        kind: AddrType::PubKeyHash,
        value: v,
    }
}
fn inp(tx: u32, i: u32, a: &str, v: i64) -> InputSpec {
    InputSpec {
        spent_hash: h(tx),
        spent_index: i,
        address: a.into(),
        kind: AddrType::PubKeyHash,
        value: v,
    }
}

type Spec = (i64, i64, Vec<InputSpec>, Vec<OutputSpec>);

/// The miner M mines 5 000 000; pays A (a peel step) and B; A pays C and B and A pay C
/// together (A and B: one entity).
fn chain() -> Vec<Spec> {
    vec![
        (1, T0, vec![], vec![out("M", 5_000_000)]),
        (
            2,
            T0 + 3600,
            vec![inp(0, 0, "M", 5_000_000)],
            vec![out("A", 2_000_000), out("M", 2_990_000)],
        ),
        (
            3,
            T0 + 7200,
            vec![inp(1, 0, "A", 2_000_000)],
            vec![out("C", 1_500_000), out("A", 499_000)],
        ),
        (
            3,
            T0 + 7200,
            vec![inp(1, 1, "M", 2_990_000)],
            vec![out("B", 1_000_000), out("M", 1_980_000)],
        ),
        (
            4,
            T0 + 90_000,
            vec![inp(3, 0, "B", 1_000_000), inp(2, 1, "A", 499_000)],
            vec![out("C", 1_400_000)],
        ),
    ]
}

fn ledger(specs: &[Spec]) -> Ledger {
    let mut b = LedgerBuilder::new();
    for (n, (height, time, ins, outs)) in specs.iter().enumerate() {
        b.push(
            &h(n as u32),
            *height,
            *time,
            n as i64,
            0,
            ins.is_empty(),
            ins,
            outs,
        )
        .unwrap();
    }
    b.finish()
}

fn run(
    l: &Ledger,
    start_tx: usize,
    level: Level,
    labels: Option<&AddressLabels>,
) -> WindowFeatures {
    let mut entity_of = None;
    if level == Level::Entity {
        let mut c = ledgerflow_entities::cluster(l, &ledgerflow_entities::Options::default());
        entity_of = Some(c.entity_ids());
    }
    utxo::compute(&UtxoInput {
        ledger: l,
        start_tx,
        window: Window {
            start: T0 - 1,
            end: T0 + 90_000,
        },
        level,
        entity_of: entity_of.as_deref(),
        labels,
        threads: 1,
    })
}

fn get(w: &WindowFeatures, id: &str, col: &str) -> f64 {
    let r = w
        .ids
        .iter()
        .position(|i| i == id)
        .unwrap_or_else(|| panic!("no row {id}"));
    let c = w
        .defs
        .iter()
        .position(|d| d.name == col)
        .unwrap_or_else(|| panic!("no column {col}"));
    w.columns[c][r]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

macro_rules! check {
    ($w:expr, $id:expr, $( $col:literal = $v:expr ),* $(,)?) => {
        $( let got = get(&$w, $id, $col); let want: f64 = $v;
           assert!(close(got, want) || (got.is_nan() && want.is_nan()),
                   "{} {}: got {got}, want {want}", $id, $col); )*
    };
}

#[test]
fn catalog_is_documented_and_large_enough() {
    for (list, min) in [(utxo::UTXO, 100), (evm::EVM, 100)] {
        assert!(list.len() >= min, "{} features", list.len());
        let mut names: Vec<&str> = list.iter().map(|f| f.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), list.len(), "duplicate names");
        for (n, _, d) in list {
            assert!(d.len() > 10 && d.ends_with('.'), "{n}: {d:?}");
        }
        for fam in [
            super::Family::Counts,
            super::Family::Values,
            super::Family::Time,
            super::Family::Structure,
            super::Family::Neighbourhood,
        ] {
            assert!(list.iter().any(|f| f.1 == fam), "{fam:?} missing");
        }
    }
    for fam in [
        super::Family::Gas,
        super::Family::Contracts,
        super::Family::Tokens,
    ] {
        assert!(evm::EVM.iter().any(|f| f.1 == fam), "{fam:?} missing");
    }
}

#[test]
fn utxo_counts_and_values_by_hand() {
    let l = ledger(&chain());
    let w = run(&l, 0, Level::Address, None);
    assert_eq!(w.ids, vec!["M", "A", "C", "B"]);
    check!(
        w,
        "A",
        "tx_count" = 3.0,
        "received_tx_count" = 2.0,
        "sent_tx_count" = 2.0,
        "self_tx_count" = 1.0,
        "output_count" = 2.0,
        "input_count" = 2.0,
        "in_counterparties" = 1.0,
        "out_counterparties" = 1.0,
        "counterparties" = 2.0,
        "address_count" = 1.0,
        "tx_count_total" = 3.0,
        "utxo_count" = 0.0,
        "received_value" = 2_499_000.0,
        "sent_value" = 2_499_000.0,
        "net_value" = 0.0,
        "balance" = 0.0,
        "balance_start" = 0.0,
        "balance_max" = 2_000_000.0,
        "received_external_value" = 2_000_000.0,
        "paid_value" = 2_900_000.0,
        "change_value" = 499_000.0,
        "fee_value" = 1_000.0 + 99_000.0 * 499_000.0 / 1_499_000.0,
        "recv_amount_min" = 499_000.0,
        "recv_amount_max" = 2_000_000.0,
        "recv_amount_mean" = 1_249_500.0,
        "recv_amount_median" = 1_249_500.0,
        "recv_amount_std" = 750_500.0,
        "paid_amount_median" = 1_450_000.0,
        "round_received_share" = 0.5,
        "round_paid_share" = 1.0,
        "round_paid_share_big" = 0.0,
        "dust_received_share" = 0.0,
    );
    check!(
        w,
        "M",
        "balance" = 1_980_000.0,
        "utxo_count" = 1.0,
        "utxo_value_mean" = 1_980_000.0,
        "coinbase_output_share" = 1.0 / 3.0,
        "coinbase_value_share" = 5.0 / 9.97,
        "coinbase_tx_count" = 1.0,
    );
    check!(
        w,
        "C",
        "received_value" = 2_900_000.0,
        "in_counterparties" = 2.0,
        "multi_sender_received_share" = 0.5,
        "payer_inputs_mean" = 1.5,
        "sent_tx_count" = 0.0,
        "fan_in_mean" = f64::NAN
    );
}

#[test]
fn utxo_time_and_structure_by_hand() {
    let l = ledger(&chain());
    let w = run(&l, 0, Level::Address, None);
    check!(
        w,
        "A",
        "age_days" = 1.0,
        "lifetime_days" = 1.0,
        "recency_days" = 0.0,
        "first_seen_in_window" = 1.0,
        "active_days" = 2.0,
        "active_blocks" = 3.0,
        "interval_min_hours" = 1.0,
        "interval_max_hours" = 23.0,
        "interval_mean_hours" = 12.0,
        "interval_std_hours" = 11.0,
        "burstiness" = -1.0 / 23.0,
        "hour_share_20_24" = 2.0 / 3.0,
        "hour_share_00_04" = 1.0 / 3.0,
        "hour_share_08_12" = 0.0,
        "weekday_share_tue" = 1.0 / 3.0,
        "weekday_share_wed" = 2.0 / 3.0,
        "hold_time_mean_days" = 0.5,
        "hold_time_max_days" = 82_800.0 / 86_400.0,
        "fast_spend_share" = 0.0,
        "days_since_sent" = 0.0,
        "fan_in_mean" = 1.5,
        "fan_in_max" = 2.0,
        "fan_out_mean" = 1.5,
        "fan_out_max" = 2.0,
        "self_churn_share" = 499_000.0 / 2_499_000.0,
        "change_tx_share" = 0.5,
        "outputs_per_address" = 2.0,
        "reused_address_share" = 1.0,
        "script_share_p2pkh" = 1.0,
        "script_type_count" = 1.0,
        "peel_share" = 0.5,
        "single_input_share" = 0.5,
        "consolidation_share" = 0.0,
        "coinjoin_tx_count" = 0.0,
        "degree_ratio" = 0.5,
        "reciprocity" = 0.0,
    );
    // M's first spend spends a coinbase (no peel), its second a peel-shaped transaction.
    // M: 22:13, 23:13 and 00:13, three hours once each.
    check!(w, "M", "peel_share" = 0.5, "hour_entropy" = 3f64.log2());
}

#[test]
fn utxo_neighbourhood_and_labels_by_hand() {
    let l = ledger(&chain());
    let miner = AddressLabels {
        categories: vec!["miner".into()],
        of: [(l.book.id("M").unwrap(), 0u16)].into_iter().collect(),
        sources: [(l.book.id("M").unwrap(), "pool list".to_string())]
            .into_iter()
            .collect(),
    };
    let w = run(&l, 0, Level::Address, Some(&miner));
    // C's counterparties are A (3 transactions) and B (2); A paid it 1 500 000 and its
    // input share (499 000 of 1 499 000) of the last transaction's 1 400 000.
    check!(
        w,
        "C",
        "neigh_mean_tx_count" = 2.5,
        "neigh_labelled_share" = 0.0,
        "component_size" = 4.0,
        "in_value_top_share" = (1_500_000.0 + 1_400_000.0 * 499_000.0 / 1_499_000.0) / 2_900_000.0
    );
    check!(
        w,
        "A",
        "neigh_labelled_share" = 0.5,
        "neigh_label_share_miner" = 0.5,
        "neigh_mean_balance" = (1_980_000.0 + 2_900_000.0) / 2.0
    );
    let pr = w.defs.iter().position(|d| d.name == "pagerank").unwrap();
    let mean: f64 = w.columns[pr].iter().sum::<f64>() / w.ids.len() as f64;
    assert!(close(mean, 1.0), "{mean}");
    assert_eq!(w.labels, vec![Some("miner".to_string()), None, None, None]);
    assert_eq!(w.label_sources[0].as_deref(), Some("pool list"));
}

#[test]
fn utxo_entities_merge_addresses() {
    let l = ledger(&chain());
    let w = run(&l, 0, Level::Entity, None);
    // ids: M 0, A 1, C 2, B 3; A and B spend together in the last transaction.
    assert_eq!(w.ids, vec!["0", "1", "2"]);
    assert_eq!(w.representative, vec!["M", "A", "C"]);
    check!(
        w,
        "1",
        "tx_count" = 4.0,
        "address_count" = 2.0,
        "address_count_total" = 2.0,
        "reused_address_share" = 0.5,
        "in_counterparties" = 1.0,
        "out_counterparties" = 1.0,
        "received_value" = 3_499_000.0,
        "sent_value" = 3_499_000.0,
        "fan_in_max" = 2.0
    );
}

#[test]
fn a_window_reads_nothing_after_its_end() {
    let mut specs = chain();
    let short = ledger(&specs);
    // Later blocks: C and M spend everything, in a block stamped after the window.
    specs.push((
        5,
        T0 + 200_000,
        vec![inp(2, 0, "C", 1_500_000), inp(3, 1, "M", 1_980_000)],
        vec![out("D", 3_000_000), out("E", 400_000)],
    ));
    specs.push((
        6,
        T0 + 300_000,
        vec![inp(5, 0, "D", 3_000_000)],
        vec![out("A", 2_999_000)],
    ));
    let mut long = ledger(&specs);
    let want = run(&short, 0, Level::Entity, None);
    let n = long.txs.partition_point(|t| t.height <= 4);
    long.truncate(n);
    let got = run(&long, 0, Level::Entity, None);
    assert_eq!(format!("{got:?}"), format!("{want:?}"));
    let untruncated = ledger(&specs);
    let leaky = run(&untruncated, 0, Level::Entity, None);
    assert_ne!(
        format!("{leaky:?}"),
        format!("{want:?}"),
        "the extra blocks must matter"
    );

    // Moving the start: history before it feeds balances, the window only what is in it.
    let start = short.txs.partition_point(|t| t.height <= 2);
    let w = run(&short, start, Level::Address, None);
    check!(
        w,
        "A",
        "tx_count" = 2.0,
        "balance_start" = 2_000_000.0,
        "first_seen_in_window" = 0.0,
        "tx_count_total" = 3.0,
        "received_value" = 499_000.0
    );
    assert!(!w.ids.contains(&"Z".to_string()));
}

fn evm_chain() -> EvmChain {
    // 0 alice, 1 bob, 2 token contract, 3 dex contract
    let tx =
        |block: i64, from: u32, to: Option<u32>, value: f64, ok: bool, sel: Option<u32>| EvmTx {
            block,
            time: T0 + 12 * block,
            from,
            to,
            value,
            gas_limit: 100_000.0,
            gas_price: 20e9,
            gas_used: 50_000.0,
            priority_fee: Some(2e9),
            tx_type: 2,
            success: Some(ok),
            input_len: if sel.is_some() { 68 } else { 0 },
            selector: sel,
            created: None,
        };
    let mut c = EvmChain {
        names: vec!["alice".into(), "bob".into(), "token".into(), "dex".into()],
        ..EvmChain::default()
    };
    c.txs = vec![
        tx(1, 0, Some(1), 1.5, true, None),
        tx(2, 0, Some(3), 0.0, true, Some(0xa9059cbb)),
        tx(3, 0, Some(3), 0.0, false, Some(0xa9059cbb)),
        tx(4, 1, Some(0), 0.5, true, None),
    ];
    c.transfers = vec![EvmTransfer {
        block: 2,
        time: T0 + 24,
        token: 2,
        from: 0,
        to: 1,
        nft: false,
    }];
    c.contracts = [(2, (0, T0)), (3, (0, T0))].into_iter().collect();
    c
}

#[test]
fn evm_features_by_hand() {
    let c = evm_chain();
    let w = evm::compute(&EvmInput {
        chain: &c,
        start_block: 0,
        window: Window {
            start: T0 - 1,
            end: T0 + 86_400,
        },
        labels: None,
        threads: 1,
    });
    assert_eq!(w.ids, vec!["alice", "bob", "dex"]);
    check!(
        w,
        "alice",
        "tx_count" = 4.0,
        "sent_tx_count" = 3.0,
        "received_tx_count" = 1.0,
        "received_value" = 0.5,
        "sent_value" = 1.5,
        "flow_balance" = 0.5 - 1.5 - 3.0 * 50_000.0 * 20e9 / 1e18,
        "zero_value_sent_share" = 2.0 / 3.0,
        "round_sent_share" = 1.0,
        "out_counterparties" = 2.0,
        "in_counterparties" = 1.0,
        "counterparties" = 2.0,
        "reciprocity" = 0.5,
        "gas_price_mean_gwei" = 20.0,
        "gas_utilisation_mean" = 0.5,
        "fee_total" = 3.0 * 50_000.0 * 20e9 / 1e18,
        "priority_fee_mean_gwei" = 2.0,
        "eip1559_share" = 1.0,
        "contract_call_share" = 2.0 / 3.0,
        "distinct_contracts_called" = 1.0,
        "input_data_share" = 2.0 / 3.0,
        "distinct_selectors" = 1.0,
        "top_selector_share" = 1.0,
        "failed_tx_count" = 1.0,
        "failed_tx_share" = 1.0 / 3.0,
        "token_transfer_count" = 1.0,
        "token_out_count" = 1.0,
        "distinct_tokens" = 1.0,
        "distinct_tokens_sent" = 1.0,
        "token_out_counterparties" = 1.0,
        "is_contract" = 0.0,
        "active_blocks" = 4.0,
        "interval_min_hours" = 0.0,
        "neigh_contract_share" = 0.5,
    );
    check!(
        w,
        "dex",
        "is_contract" = 1.0,
        "calls_received_count" = 2.0,
        "contract_age_days" = 1.0,
        "received_tx_count" = 2.0
    );
    // A window from block 3 on: alice's first transactions are history.
    let w = evm::compute(&EvmInput {
        chain: &c,
        start_block: 3,
        window: Window {
            start: T0 + 30,
            end: T0 + 86_400,
        },
        labels: None,
        threads: 1,
    });
    check!(
        w,
        "alice",
        "tx_count" = 2.0,
        "tx_count_total" = 4.0,
        "first_seen_in_window" = 0.0,
        "token_transfer_count" = 0.0
    );
}
