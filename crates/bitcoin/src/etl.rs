//! bitcoin-etl's output: JSON lines (`export_blocks_and_transactions`, `enrich_transactions`
//! and `stream` items) and CSV, byte for byte as bitcoin-etl 1.5.2 writes them.
//!
//! Its quirks, reproduced where they are visible in its output:
//! * `input_value` sums the inputs whose value is known (0 before enrichment) and `fee` is
//!   `input_value - output_value` (negative before enrichment), 0 for coinbase transactions;
//! * on "old API" chains (Bitcoin Cash, Dogecoin, Dash) the transaction `index` is null;
//! * stream items start with `"type"` and end with `"item_id"`.

use ledgerflow_core::tables::bitcoin::{BtcBlockRow, BtcTransactionRow, TxInput, TxOutput};

/// Rendering switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EtlStyle {
    /// Stream items (`type` first, `item_id` last).
    pub stream: bool,
    /// Transaction `index` is null (old-API chains).
    pub null_index: bool,
}

use ledgerflow_core::compat::csv_field;
pub use ledgerflow_core::compat::json_string as json_str;

struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }
    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push_str(", ");
        }
        self.first = false;
        json_str(self.out, k);
        self.out.push_str(": ");
        self.out
    }
    fn str(&mut self, k: &str, v: Option<&str>) {
        let o = self.key(k);
        match v {
            Some(s) => json_str(o, s),
            None => o.push_str("null"),
        }
    }
    fn int(&mut self, k: &str, v: Option<i64>) {
        let o = self.key(k);
        match v {
            Some(n) => o.push_str(&n.to_string()),
            None => o.push_str("null"),
        }
    }
    fn bool(&mut self, k: &str, v: Option<bool>) {
        let o = self.key(k);
        o.push_str(match v {
            Some(true) => "true",
            Some(false) => "false",
            None => "null",
        });
    }
    fn strs(&mut self, k: &str, v: &[String]) {
        let o = self.key(k);
        o.push('[');
        for (i, s) in v.iter().enumerate() {
            if i > 0 {
                o.push_str(", ");
            }
            json_str(o, s);
        }
        o.push(']');
    }
    fn end(self) {
        self.out.push('}');
    }
}

/// One block as a JSON line (without the newline).
pub fn block_json(b: &BtcBlockRow, style: EtlStyle) -> String {
    let mut s = String::with_capacity(512);
    let mut o = Obj::new(&mut s);
    if style.stream {
        o.str("type", Some("block"));
    }
    o.str("hash", Some(&b.hash));
    o.int("size", b.size);
    o.int("stripped_size", b.stripped_size);
    o.int("weight", b.weight);
    o.int("number", Some(b.number));
    o.int("version", b.version);
    o.str("merkle_root", b.merkle_root.as_deref());
    o.int("timestamp", Some(b.timestamp.0));
    o.str("nonce", b.nonce.as_deref());
    o.str("bits", b.bits.as_deref());
    o.str("coinbase_param", b.coinbase_param.as_deref());
    o.int("transaction_count", b.transaction_count);
    if style.stream {
        o.str("item_id", Some(&format!("block_{}", b.hash)));
    }
    o.end();
    s
}

fn input_json(out: &mut String, i: &TxInput) {
    let mut o = Obj::new(out);
    o.int("index", Some(i.index));
    o.str(
        "spent_transaction_hash",
        i.spent_transaction_hash.as_deref(),
    );
    o.int("spent_output_index", i.spent_output_index);
    o.str("script_asm", i.script_asm.as_deref());
    o.str("script_hex", i.script_hex.as_deref());
    o.int("sequence", i.sequence);
    o.int("required_signatures", i.required_signatures);
    o.str("type", i.type_.as_deref());
    o.strs("addresses", &i.addresses);
    o.int("value", i.value.map(|v| v.0));
    o.end();
}

fn output_json(out: &mut String, x: &TxOutput) {
    let mut o = Obj::new(out);
    o.int("index", Some(x.index));
    o.str("script_asm", x.script_asm.as_deref());
    o.str("script_hex", x.script_hex.as_deref());
    o.int("required_signatures", x.required_signatures);
    o.str("type", x.type_.as_deref());
    o.strs("addresses", &x.addresses);
    o.int("value", x.value.map(|v| v.0));
    o.end();
}

fn list<T>(out: &mut String, items: &[T], f: impl Fn(&mut String, &T)) {
    out.push('[');
    for (k, x) in items.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        f(out, x);
    }
    out.push(']');
}

/// bitcoin-etl's (input_value, fee) of a transaction row.
pub fn etl_values(t: &BtcTransactionRow) -> (i64, i64, i64) {
    let input_value: i64 = t.inputs.iter().filter_map(|i| i.value).map(|v| v.0).sum();
    let output_value: i64 = t.outputs.iter().filter_map(|o| o.value).map(|v| v.0).sum();
    let fee = if t.is_coinbase == Some(true) {
        0
    } else {
        input_value - output_value
    };
    (input_value, output_value, fee)
}

/// One transaction as a JSON line (without the newline).
pub fn transaction_json(t: &BtcTransactionRow, style: EtlStyle) -> String {
    let mut s = String::with_capacity(1024);
    let (input_value, output_value, fee) = etl_values(t);
    let mut o = Obj::new(&mut s);
    if style.stream {
        o.str("type", Some("transaction"));
    }
    o.str("hash", Some(&t.hash));
    o.int("size", t.size);
    o.int("virtual_size", t.virtual_size);
    o.int("version", t.version);
    o.int("lock_time", t.lock_time);
    o.int("block_number", Some(t.block_number));
    o.str("block_hash", Some(&t.block_hash));
    o.int("block_timestamp", Some(t.block_timestamp.0));
    o.bool("is_coinbase", t.is_coinbase);
    o.int("index", (!style.null_index).then_some(t.index));
    list(o.key("inputs"), &t.inputs, input_json);
    list(o.key("outputs"), &t.outputs, output_json);
    o.int("input_count", t.input_count);
    o.int("output_count", t.output_count);
    o.int("input_value", Some(input_value));
    o.int("output_value", Some(output_value));
    o.int("fee", Some(fee));
    if style.stream {
        o.str("item_id", Some(&format!("transaction_{}", t.hash)));
    }
    o.end();
    s
}

/// bitcoin-etl's CSV header of blocks.
pub const BLOCK_CSV_HEADER: &str = "hash,size,stripped_size,weight,number,version,merkle_root,timestamp,nonce,bits,coinbase_param,transaction_count\r\n";

/// One block as a CSV line (with `\r\n`).
pub fn block_csv(b: &BtcBlockRow) -> String {
    let mut s = String::with_capacity(300);
    let opt_i = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let fields = [
        b.hash.clone(),
        opt_i(b.size),
        opt_i(b.stripped_size),
        opt_i(b.weight),
        b.number.to_string(),
        opt_i(b.version),
        b.merkle_root.clone().unwrap_or_default(),
        b.timestamp.0.to_string(),
        b.nonce.clone().unwrap_or_default(),
        b.bits.clone().unwrap_or_default(),
        b.coinbase_param.clone().unwrap_or_default(),
        opt_i(b.transaction_count),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        csv_field(&mut s, f);
    }
    s.push_str("\r\n");
    s
}

/// Python's `repr` of a string (single quotes unless the string contains one).
fn py_repr_str(out: &mut String, s: &str) {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
}

fn py_opt_str(out: &mut String, v: Option<&str>) {
    match v {
        Some(s) => py_repr_str(out, s),
        None => out.push_str("None"),
    }
}

fn py_opt_int(out: &mut String, v: Option<i64>) {
    match v {
        Some(n) => out.push_str(&n.to_string()),
        None => out.push_str("None"),
    }
}

fn py_list(out: &mut String, v: &[String]) {
    out.push('[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        py_repr_str(out, s);
    }
    out.push(']');
}

/// bitcoin-etl's CSV header of transactions.
pub const TRANSACTION_CSV_HEADER: &str = "hash,size,virtual_size,version,lock_time,block_number,block_hash,block_timestamp,is_coinbase,index,inputs,outputs,input_count,output_count,input_value,output_value,fee\r\n";

/// One transaction as a CSV line: the nested lists are written as bitcoin-etl's CSV
/// exporter writes them (`str()` of each dict, joined with commas).
pub fn transaction_csv(t: &BtcTransactionRow, style: EtlStyle) -> String {
    let (input_value, output_value, fee) = etl_values(t);
    let mut inputs = String::new();
    for (k, i) in t.inputs.iter().enumerate() {
        if k > 0 {
            inputs.push(',');
        }
        inputs.push_str("{'index': ");
        inputs.push_str(&i.index.to_string());
        inputs.push_str(", 'spent_transaction_hash': ");
        py_opt_str(&mut inputs, i.spent_transaction_hash.as_deref());
        inputs.push_str(", 'spent_output_index': ");
        py_opt_int(&mut inputs, i.spent_output_index);
        inputs.push_str(", 'script_asm': ");
        py_opt_str(&mut inputs, i.script_asm.as_deref());
        inputs.push_str(", 'script_hex': ");
        py_opt_str(&mut inputs, i.script_hex.as_deref());
        inputs.push_str(", 'sequence': ");
        py_opt_int(&mut inputs, i.sequence);
        inputs.push_str(", 'required_signatures': ");
        py_opt_int(&mut inputs, i.required_signatures);
        inputs.push_str(", 'type': ");
        py_opt_str(&mut inputs, i.type_.as_deref());
        inputs.push_str(", 'addresses': ");
        py_list(&mut inputs, &i.addresses);
        inputs.push_str(", 'value': ");
        py_opt_int(&mut inputs, i.value.map(|v| v.0));
        inputs.push('}');
    }
    let mut outputs = String::new();
    for (k, o) in t.outputs.iter().enumerate() {
        if k > 0 {
            outputs.push(',');
        }
        outputs.push_str("{'index': ");
        outputs.push_str(&o.index.to_string());
        outputs.push_str(", 'script_asm': ");
        py_opt_str(&mut outputs, o.script_asm.as_deref());
        outputs.push_str(", 'script_hex': ");
        py_opt_str(&mut outputs, o.script_hex.as_deref());
        outputs.push_str(", 'required_signatures': ");
        py_opt_int(&mut outputs, o.required_signatures);
        outputs.push_str(", 'type': ");
        py_opt_str(&mut outputs, o.type_.as_deref());
        outputs.push_str(", 'addresses': ");
        py_list(&mut outputs, &o.addresses);
        outputs.push_str(", 'value': ");
        py_opt_int(&mut outputs, o.value.map(|v| v.0));
        outputs.push('}');
    }
    let opt_i = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let fields = [
        t.hash.clone(),
        opt_i(t.size),
        opt_i(t.virtual_size),
        opt_i(t.version),
        opt_i(t.lock_time),
        t.block_number.to_string(),
        t.block_hash.clone(),
        t.block_timestamp.0.to_string(),
        match t.is_coinbase {
            Some(true) => "True".into(),
            Some(false) => "False".into(),
            None => String::new(),
        },
        if style.null_index {
            String::new()
        } else {
            t.index.to_string()
        },
        inputs,
        outputs,
        opt_i(t.input_count),
        opt_i(t.output_count),
        input_value.to_string(),
        output_value.to_string(),
        fee.to_string(),
    ];
    let mut s = String::with_capacity(1024);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        csv_field(&mut s, f);
    }
    s.push_str("\r\n");
    s
}
