//! The node's verbose JSON forms: `getblock <hash> 2` (transactions inline),
//! `getblock <hash> true` + `getrawtransaction <txid> 1` (bitcoin-etl's "old API" chains),
//! before and after Core 22 (`addresses`/`reqSigs` vs `address`), Zcash's JoinSplits and
//! `valueBalance`. Amounts are parsed from the JSON text exactly, never through a float.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::hash::{from_hex, parse_hash};
use crate::model::{Block, NodeScript, Tx, TxIn, TxOut};

/// Why a verbose answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct VerboseError {
    /// Which field.
    pub what: String,
    /// What is wrong.
    pub reason: String,
}

fn verr(what: impl Into<String>, reason: impl Into<String>) -> VerboseError {
    VerboseError {
        what: what.into(),
        reason: reason.into(),
    }
}

/// Parses a decimal coin amount (`50.00000000`, `1e-8`, `-0.5`) into base units (10^-8),
/// truncating beyond 8 decimals as bitcoin-etl's `int(Decimal * 10**8)` does.
pub fn parse_amount(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((a, b)) => (a, b),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|c| c.is_ascii_digit())
        || !frac_part.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    // digits * 10^(exp - frac_len) * 10^8
    let digits: String = format!("{int_part}{frac_part}");
    let shift = exp + 8 - frac_part.len() as i32;
    let mut v: i128 = 0;
    for c in digits.bytes() {
        v = v.checked_mul(10)?.checked_add((c - b'0') as i128)?;
        if v > i128::from(i64::MAX) * 1_000_000_000 {
            return None;
        }
    }
    if shift >= 0 {
        for _ in 0..shift {
            v = v.checked_mul(10)?;
        }
    } else {
        for _ in 0..(-shift) {
            v /= 10;
        }
    }
    let v = i64::try_from(v).ok()?;
    Some(if neg { -v } else { v })
}

#[derive(Deserialize)]
struct VScriptSig {
    asm: Option<String>,
    hex: Option<String>,
}

#[derive(Deserialize)]
struct VIn {
    txid: Option<String>,
    vout: Option<u32>,
    coinbase: Option<String>,
    #[serde(rename = "scriptSig")]
    script_sig: Option<VScriptSig>,
    sequence: Option<u32>,
    txinwitness: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct VSpk {
    asm: Option<String>,
    hex: Option<String>,
    #[serde(rename = "reqSigs")]
    req_sigs: Option<i64>,
    #[serde(rename = "type")]
    type_: Option<String>,
    addresses: Option<Vec<String>>,
    address: Option<String>,
}

#[derive(Deserialize)]
struct VOut {
    value: Option<Box<RawValue>>,
    n: Option<u32>,
    #[serde(rename = "scriptPubKey")]
    script_pub_key: Option<VSpk>,
}

#[derive(Deserialize)]
struct VJoinSplit {
    vpub_old: Option<Box<RawValue>>,
    vpub_new: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct VTx {
    txid: String,
    hash: Option<String>,
    version: Option<i64>,
    size: Option<i64>,
    vsize: Option<i64>,
    weight: Option<i64>,
    locktime: Option<i64>,
    #[serde(default)]
    vin: Vec<VIn>,
    #[serde(default)]
    vout: Vec<VOut>,
    blockhash: Option<String>,
    vjoinsplit: Option<Vec<VJoinSplit>>,
    #[serde(rename = "valueBalance")]
    value_balance: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct VBlock {
    hash: String,
    height: Option<i64>,
    version: Option<i64>,
    merkleroot: Option<String>,
    time: Option<i64>,
    nonce: Option<Box<RawValue>>,
    bits: Option<String>,
    size: Option<i64>,
    strippedsize: Option<i64>,
    weight: Option<i64>,
    previousblockhash: Option<String>,
    #[serde(default)]
    tx: Vec<Box<RawValue>>,
}

fn amount(raw: &RawValue, what: &str) -> Result<i64, VerboseError> {
    parse_amount(raw.get()).ok_or_else(|| verr(what, format!("not an amount: {}", raw.get())))
}

fn hash32(s: &str, what: &str) -> Result<[u8; 32], VerboseError> {
    parse_hash(s).ok_or_else(|| verr(what, format!("not a 64-digit hex hash: {s:?}")))
}

fn hexbytes(s: &str, what: &str) -> Result<Vec<u8>, VerboseError> {
    from_hex(s).ok_or_else(|| verr(what, "not hex"))
}

fn map_tx(v: VTx) -> Result<Tx, VerboseError> {
    let label = format!("tx {}", v.txid);
    let txid = hash32(&v.txid, &format!("{label} txid"))?;
    let mut inputs = Vec::with_capacity(v.vin.len());
    for (i, vin) in v.vin.into_iter().enumerate() {
        let w = |s: &str| format!("{label} vin {i} {s}");
        let (prev, script_sig, node_asm) = if let Some(cb) = vin.coinbase {
            (None, hexbytes(&cb, &w("coinbase"))?, None)
        } else {
            let txid = vin.txid.ok_or_else(|| verr(w("txid"), "missing"))?;
            let vout = vin.vout.ok_or_else(|| verr(w("vout"), "missing"))?;
            let (hex, asm) = match vin.script_sig {
                Some(s) => (s.hex.unwrap_or_default(), s.asm),
                None => (String::new(), None),
            };
            (
                Some((hash32(&txid, &w("txid"))?, vout)),
                hexbytes(&hex, &w("scriptSig"))?,
                asm,
            )
        };
        let witness = vin
            .txinwitness
            .unwrap_or_default()
            .iter()
            .map(|h| hexbytes(h, &w("txinwitness")))
            .collect::<Result<Vec<_>, _>>()?;
        inputs.push(TxIn {
            prev,
            script_sig,
            sequence: vin.sequence.unwrap_or(u32::MAX),
            witness,
            node_asm,
        });
    }
    let mut outputs = Vec::with_capacity(v.vout.len());
    for (i, vout) in v.vout.into_iter().enumerate() {
        let w = |s: &str| format!("{label} vout {i} {s}");
        if vout.n.is_some_and(|n| n as usize != i) {
            return Err(verr(w("n"), "outputs out of order"));
        }
        let value = match &vout.value {
            Some(raw) => amount(raw, &w("value"))?,
            None => return Err(verr(w("value"), "missing")),
        };
        let spk = vout
            .script_pub_key
            .ok_or_else(|| verr(w("scriptPubKey"), "missing"))?;
        let script = hexbytes(spk.hex.as_deref().unwrap_or(""), &w("scriptPubKey hex"))?;
        let addresses = match (spk.addresses, spk.address) {
            (Some(a), _) if !a.is_empty() => a,
            (_, Some(a)) => vec![a],
            _ => vec![],
        };
        outputs.push(TxOut {
            value,
            script,
            node: Some(NodeScript {
                asm: spk.asm,
                type_: spk.type_,
                req_sigs: spk.req_sigs,
                addresses,
            }),
        });
    }
    let mut shielded_inputs = Vec::new();
    let mut shielded_outputs = Vec::new();
    for (k, js) in v.vjoinsplit.unwrap_or_default().into_iter().enumerate() {
        let new = match &js.vpub_new {
            Some(r) => amount(r, &format!("{label} vjoinsplit {k} vpub_new"))?,
            None => 0,
        };
        let old = match &js.vpub_old {
            Some(r) => amount(r, &format!("{label} vjoinsplit {k} vpub_old"))?,
            None => 0,
        };
        if new > 0 {
            shielded_inputs.push(new);
        }
        if old > 0 {
            shielded_outputs.push(old);
        }
    }
    if let Some(vb) = &v.value_balance {
        let b = amount(vb, &format!("{label} valueBalance"))?;
        if b > 0 {
            shielded_inputs.push(b);
        } else if b < 0 {
            shielded_outputs.push(-b);
        }
    }
    let wtxid = match &v.hash {
        Some(h) => Some(hash32(h, &format!("{label} hash"))?),
        None => None,
    };
    Ok(Tx {
        txid,
        wtxid,
        version: v.version.unwrap_or(1),
        lock_time: v.locktime.unwrap_or(0),
        size: v.size,
        vsize: v.vsize,
        weight: v.weight,
        inputs,
        outputs,
        shielded_inputs,
        shielded_outputs,
    })
}

/// Parses one `getrawtransaction <txid> 1` answer; also returns its `blockhash`.
pub fn parse_tx(json: &str) -> Result<(Tx, Option<String>), VerboseError> {
    let v: VTx = serde_json::from_str(json).map_err(|e| verr("transaction", e.to_string()))?;
    let bh = v.blockhash.clone();
    Ok((map_tx(v)?, bh))
}

/// A verbose block: its transactions inline (`getblock 2`) or only their ids
/// (`getblock true`), which then come from `getrawtransaction`.
pub struct VerboseBlock {
    /// The block with whatever transactions were inline.
    pub block: Block,
    /// The txids when the answer listed ids only.
    pub txids: Vec<String>,
}

/// Parses a `getblock <hash> 1|2|true` answer.
pub fn parse_block(json: &str) -> Result<VerboseBlock, VerboseError> {
    let v: VBlock = serde_json::from_str(json).map_err(|e| verr("block", e.to_string()))?;
    let label = format!("block {}", v.hash);
    let hash = hash32(&v.hash, &format!("{label} hash"))?;
    let prev = match &v.previousblockhash {
        Some(p) => hash32(p, &format!("{label} previousblockhash"))?,
        None => [0; 32],
    };
    let nonce = match &v.nonce {
        None => String::new(),
        Some(raw) => {
            let t = raw.get();
            if let Some(s) = t.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                s.to_string()
            } else {
                let n: u64 = t
                    .parse()
                    .map_err(|_| verr(format!("{label} nonce"), format!("not a number: {t}")))?;
                format!("{n:x}")
            }
        }
    };
    let mut txs = Vec::new();
    let mut txids = Vec::new();
    for (i, raw) in v.tx.iter().enumerate() {
        let t = raw.get();
        if t.starts_with('"') {
            let id: String = serde_json::from_str(t)
                .map_err(|e| verr(format!("{label} tx {i}"), e.to_string()))?;
            txids.push(id);
        } else {
            let vt: VTx = serde_json::from_str(t)
                .map_err(|e| verr(format!("{label} tx {i}"), e.to_string()))?;
            txs.push(map_tx(vt)?);
        }
    }
    Ok(VerboseBlock {
        block: Block {
            hash,
            height: v.height.unwrap_or(-1),
            version: v.version.unwrap_or(0),
            prev,
            merkle_root: v.merkleroot.unwrap_or_default(),
            time: v.time.unwrap_or(0),
            bits: v.bits.unwrap_or_default(),
            nonce,
            size: v.size,
            stripped_size: v.strippedsize,
            weight: v.weight,
            txs,
        },
        txids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Core ≥ 22 answers: `address` instead of `addresses`/`reqSigs`; no address at all
    /// for OP_RETURN; `txinwitness` and `prevout`-less inputs.
    #[test]
    fn core_22_shapes() {
        let tx = r#"{"txid":"7940cdde4d713e171849efc6bd89939185be270266c94e92369e3877ad89455a",
          "hash":"7940cdde4d713e171849efc6bd89939185be270266c94e92369e3877ad89455a",
          "version":2,"size":100,"vsize":80,"weight":320,"locktime":0,
          "vin":[{"txid":"0dd0394c6240355f4e4b3c88028f678ed746cebee3b3e8509620733f018914c9","vout":1,
                  "scriptSig":{"asm":"","hex":""},"txinwitness":["3044","02ab"],"sequence":4294967293}],
          "vout":[{"value":0.00012345,"n":0,"scriptPubKey":{"asm":"0 751e76e8199196d454941c45d1b3a323f1433bd6",
                   "hex":"0014751e76e8199196d454941c45d1b3a323f1433bd6",
                   "address":"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4","type":"witness_v0_keyhash"}},
                  {"value":0,"n":1,"scriptPubKey":{"asm":"OP_RETURN 01","hex":"6a0101","type":"nulldata"}}]}"#;
        let (t, _) = parse_tx(tx).unwrap();
        assert_eq!(t.outputs[0].value, 12_345);
        let n = t.outputs[0].node.as_ref().unwrap();
        assert_eq!(
            n.addresses,
            vec!["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"]
        );
        assert_eq!(n.req_sigs, None);
        assert!(t.outputs[1].node.as_ref().unwrap().addresses.is_empty());
        assert_eq!(
            t.inputs[0].witness,
            vec![vec![0x30, 0x44], vec![0x02, 0xab]]
        );
        assert_eq!(t.inputs[0].sequence, 4_294_967_293);
        // rows: the address is kept; OP_RETURN becomes bitcoin-etl's nonstandard address
        let params = crate::chain::ChainParams::find("bitcoin", "main").unwrap();
        let block = Block {
            txs: vec![t],
            ..Default::default()
        };
        let mut rows = crate::transform::BtcRows::default();
        crate::transform::block_rows(&block, params, crate::transform::Want::ALL, None, &mut rows);
        let o = &rows.outputs;
        assert_eq!(o[0].type_.as_deref(), Some("witness_v0_keyhash"));
        assert_eq!(
            o[0].addresses,
            vec!["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"]
        );
        assert_eq!(o[1].type_.as_deref(), Some("nonstandard"));
        assert_eq!(o[1].script_type.as_deref(), Some("nulldata"));
        assert!(o[1].addresses[0].starts_with("nonstandard"));
        assert_eq!(rows.inputs[0].witness, vec!["3044", "02ab"]);
    }

    #[test]
    fn amounts_are_exact() {
        assert_eq!(parse_amount("50.00000000"), Some(5_000_000_000));
        assert_eq!(parse_amount("0.1"), Some(10_000_000));
        assert_eq!(parse_amount("1e-8"), Some(1));
        assert_eq!(parse_amount("-0.00000001"), Some(-1));
        assert_eq!(
            parse_amount("20999999.97690000"),
            Some(2_099_999_997_690_000)
        );
        assert_eq!(parse_amount("123.456789012"), Some(12_345_678_901));
        assert_eq!(parse_amount("abc"), None);
        assert_eq!(parse_amount(""), None);
        assert_eq!(parse_amount("1e400"), None);
    }
}
