//! Scripts as Bitcoin Core shows them: the asm notation of `ScriptToAsmStr`, the
//! standard-template classification of `Solver`, `reqSigs` and addresses as Core < 22
//! reported them (which bitcoin-etl and BigQuery's `crypto_bitcoin` carry).

use crate::address;
use crate::chain::AddressParams;
use crate::hash::{hash160, push_hex, sha256};

/// The script classes of Bitcoin Core's `Solver` (names as `GetTxnOutputType` prints them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScriptClass {
    /// `nonstandard`
    NonStandard,
    /// `pubkey` (P2PK)
    PubKey,
    /// `pubkeyhash` (P2PKH)
    PubKeyHash,
    /// `scripthash` (P2SH)
    ScriptHash,
    /// `multisig` (bare m-of-n)
    Multisig,
    /// `nulldata` (OP_RETURN followed by pushes only)
    NullData,
    /// `witness_v0_keyhash` (P2WPKH)
    WitnessV0KeyHash,
    /// `witness_v0_scripthash` (P2WSH)
    WitnessV0ScriptHash,
    /// `witness_v1_taproot` (P2TR)
    WitnessV1Taproot,
    /// `witness_unknown` (future witness versions)
    WitnessUnknown,
}

impl ScriptClass {
    /// Bitcoin Core's name.
    pub fn name(self) -> &'static str {
        match self {
            ScriptClass::NonStandard => "nonstandard",
            ScriptClass::PubKey => "pubkey",
            ScriptClass::PubKeyHash => "pubkeyhash",
            ScriptClass::ScriptHash => "scripthash",
            ScriptClass::Multisig => "multisig",
            ScriptClass::NullData => "nulldata",
            ScriptClass::WitnessV0KeyHash => "witness_v0_keyhash",
            ScriptClass::WitnessV0ScriptHash => "witness_v0_scripthash",
            ScriptClass::WitnessV1Taproot => "witness_v1_taproot",
            ScriptClass::WitnessUnknown => "witness_unknown",
        }
    }
}

/// One parsed instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op<'a> {
    /// The opcode byte.
    pub opcode: u8,
    /// Pushed data (empty for non-push opcodes).
    pub data: &'a [u8],
}

/// `CScript::GetOp`: the next instruction at `*pc`, or None when a push runs past the end.
pub fn get_op<'a>(script: &'a [u8], pc: &mut usize) -> Option<Op<'a>> {
    let opcode = *script.get(*pc)?;
    *pc += 1;
    if opcode > 0x4e {
        return Some(Op { opcode, data: &[] });
    }
    let len = match opcode {
        0x4c => {
            let n = *script.get(*pc)? as usize;
            *pc += 1;
            n
        }
        0x4d => {
            let b = script.get(*pc..*pc + 2)?;
            *pc += 2;
            u16::from_le_bytes([b[0], b[1]]) as usize
        }
        0x4e => {
            let b = script.get(*pc..*pc + 4)?;
            *pc += 4;
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
        }
        n => n as usize,
    };
    let end = pc.checked_add(len)?;
    let data = script.get(*pc..end)?;
    *pc = end;
    Some(Op { opcode, data })
}

/// `GetOpName`.
pub fn op_name(op: u8) -> &'static str {
    match op {
        0x00 => "0",
        0x4c => "OP_PUSHDATA1",
        0x4d => "OP_PUSHDATA2",
        0x4e => "OP_PUSHDATA4",
        0x4f => "-1",
        0x50 => "OP_RESERVED",
        0x51 => "1",
        0x52 => "2",
        0x53 => "3",
        0x54 => "4",
        0x55 => "5",
        0x56 => "6",
        0x57 => "7",
        0x58 => "8",
        0x59 => "9",
        0x5a => "10",
        0x5b => "11",
        0x5c => "12",
        0x5d => "13",
        0x5e => "14",
        0x5f => "15",
        0x60 => "16",
        0x61 => "OP_NOP",
        0x62 => "OP_VER",
        0x63 => "OP_IF",
        0x64 => "OP_NOTIF",
        0x65 => "OP_VERIF",
        0x66 => "OP_VERNOTIF",
        0x67 => "OP_ELSE",
        0x68 => "OP_ENDIF",
        0x69 => "OP_VERIFY",
        0x6a => "OP_RETURN",
        0x6b => "OP_TOALTSTACK",
        0x6c => "OP_FROMALTSTACK",
        0x6d => "OP_2DROP",
        0x6e => "OP_2DUP",
        0x6f => "OP_3DUP",
        0x70 => "OP_2OVER",
        0x71 => "OP_2ROT",
        0x72 => "OP_2SWAP",
        0x73 => "OP_IFDUP",
        0x74 => "OP_DEPTH",
        0x75 => "OP_DROP",
        0x76 => "OP_DUP",
        0x77 => "OP_NIP",
        0x78 => "OP_OVER",
        0x79 => "OP_PICK",
        0x7a => "OP_ROLL",
        0x7b => "OP_ROT",
        0x7c => "OP_SWAP",
        0x7d => "OP_TUCK",
        0x7e => "OP_CAT",
        0x7f => "OP_SUBSTR",
        0x80 => "OP_LEFT",
        0x81 => "OP_RIGHT",
        0x82 => "OP_SIZE",
        0x83 => "OP_INVERT",
        0x84 => "OP_AND",
        0x85 => "OP_OR",
        0x86 => "OP_XOR",
        0x87 => "OP_EQUAL",
        0x88 => "OP_EQUALVERIFY",
        0x89 => "OP_RESERVED1",
        0x8a => "OP_RESERVED2",
        0x8b => "OP_1ADD",
        0x8c => "OP_1SUB",
        0x8d => "OP_2MUL",
        0x8e => "OP_2DIV",
        0x8f => "OP_NEGATE",
        0x90 => "OP_ABS",
        0x91 => "OP_NOT",
        0x92 => "OP_0NOTEQUAL",
        0x93 => "OP_ADD",
        0x94 => "OP_SUB",
        0x95 => "OP_MUL",
        0x96 => "OP_DIV",
        0x97 => "OP_MOD",
        0x98 => "OP_LSHIFT",
        0x99 => "OP_RSHIFT",
        0x9a => "OP_BOOLAND",
        0x9b => "OP_BOOLOR",
        0x9c => "OP_NUMEQUAL",
        0x9d => "OP_NUMEQUALVERIFY",
        0x9e => "OP_NUMNOTEQUAL",
        0x9f => "OP_LESSTHAN",
        0xa0 => "OP_GREATERTHAN",
        0xa1 => "OP_LESSTHANOREQUAL",
        0xa2 => "OP_GREATERTHANOREQUAL",
        0xa3 => "OP_MIN",
        0xa4 => "OP_MAX",
        0xa5 => "OP_WITHIN",
        0xa6 => "OP_RIPEMD160",
        0xa7 => "OP_SHA1",
        0xa8 => "OP_SHA256",
        0xa9 => "OP_HASH160",
        0xaa => "OP_HASH256",
        0xab => "OP_CODESEPARATOR",
        0xac => "OP_CHECKSIG",
        0xad => "OP_CHECKSIGVERIFY",
        0xae => "OP_CHECKMULTISIG",
        0xaf => "OP_CHECKMULTISIGVERIFY",
        0xb0 => "OP_NOP1",
        0xb1 => "OP_CHECKLOCKTIMEVERIFY",
        0xb2 => "OP_CHECKSEQUENCEVERIFY",
        0xb3 => "OP_NOP4",
        0xb4 => "OP_NOP5",
        0xb5 => "OP_NOP6",
        0xb6 => "OP_NOP7",
        0xb7 => "OP_NOP8",
        0xb8 => "OP_NOP9",
        0xb9 => "OP_NOP10",
        0xba => "OP_CHECKSIGADD",
        0xff => "OP_INVALIDOPCODE",
        _ => "OP_UNKNOWN",
    }
}

/// `CScriptNum(vch, false).getint()` for pushes of at most 4 bytes.
fn script_num(v: &[u8]) -> i64 {
    if v.is_empty() {
        return 0;
    }
    let mut result: i64 = 0;
    for (i, b) in v.iter().enumerate() {
        result |= (*b as i64) << (8 * i);
    }
    let last = v[v.len() - 1];
    if last & 0x80 != 0 {
        -(result & !(0x80i64 << (8 * (v.len() - 1))))
    } else {
        result
    }
}

/// BIP-66 strict DER signature encoding (`IsValidSignatureEncoding`).
fn is_valid_signature_encoding(sig: &[u8]) -> bool {
    let n = sig.len();
    if !(9..=73).contains(&n) || sig[0] != 0x30 || sig[1] as usize != n - 3 {
        return false;
    }
    let len_r = sig[3] as usize;
    if 5 + len_r >= n {
        return false;
    }
    let len_s = sig[5 + len_r] as usize;
    if len_r + len_s + 7 != n || sig[2] != 0x02 || len_r == 0 || sig[4] & 0x80 != 0 {
        return false;
    }
    if len_r > 1 && sig[4] == 0 && sig[5] & 0x80 == 0 {
        return false;
    }
    if sig[len_r + 4] != 0x02 || len_s == 0 || sig[len_r + 6] & 0x80 != 0 {
        return false;
    }
    if len_s > 1 && sig[len_r + 6] == 0 && sig[len_r + 7] & 0x80 == 0 {
        return false;
    }
    true
}

fn sighash_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0x01 => "ALL",
        0x81 => "ALL|ANYONECANPAY",
        0x02 => "NONE",
        0x82 => "NONE|ANYONECANPAY",
        0x03 => "SINGLE",
        0x83 => "SINGLE|ANYONECANPAY",
        0x41 => "ALL|FORKID",
        0xc1 => "ALL|FORKID|ANYONECANPAY",
        0x42 => "NONE|FORKID",
        0xc2 => "NONE|FORKID|ANYONECANPAY",
        0x43 => "SINGLE|FORKID",
        0xc3 => "SINGLE|FORKID|ANYONECANPAY",
        _ => return None,
    })
}

/// Whether the chain's signatures carry the Bitcoin Cash FORKID flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SighashStyle {
    /// Bitcoin and most forks: ALL/NONE/SINGLE (|ANYONECANPAY).
    #[default]
    Bitcoin,
    /// Bitcoin Cash: the FORKID variants are decoded too.
    ForkId,
}

/// `ScriptToAsmStr(script, attempt_sighash_decode)`; inputs' scriptSigs are shown with
/// signatures' sighash byte decoded (`[ALL]`), outputs without.
pub fn to_asm(script: &[u8], attempt_sighash_decode: bool, style: SighashStyle) -> String {
    let mut s = String::with_capacity(script.len() * 2 + 8);
    let unspendable = (!script.is_empty() && script[0] == 0x6a) || script.len() > 10_000;
    let mut pc = 0;
    while pc < script.len() {
        if !s.is_empty() {
            s.push(' ');
        }
        let Some(op) = get_op(script, &mut pc) else {
            s.push_str("[error]");
            return s;
        };
        if op.opcode <= 0x4e {
            if op.data.len() <= 4 {
                s.push_str(&script_num(op.data).to_string());
            } else if attempt_sighash_decode && !unspendable {
                let data = op.data;
                let mut decoded = None;
                if is_valid_signature_encoding(data) {
                    let t = data[data.len() - 1];
                    let base = t & !0x80;
                    let defined = match style {
                        SighashStyle::Bitcoin => (1..=3).contains(&base),
                        SighashStyle::ForkId => (1..=3).contains(&(base & !0x40)),
                    };
                    if defined {
                        decoded = sighash_name(t);
                    }
                }
                match decoded {
                    Some(name) => {
                        push_hex(&mut s, &data[..data.len() - 1]);
                        s.push('[');
                        s.push_str(name);
                        s.push(']');
                    }
                    None => push_hex(&mut s, data),
                }
            } else {
                push_hex(&mut s, op.data);
            }
        } else {
            s.push_str(op_name(op.opcode));
        }
    }
    s
}

/// `CPubKey::ValidSize`: 33 bytes with prefix 2/3, or 65 bytes with prefix 4/6/7.
fn valid_pubkey_size(k: &[u8]) -> bool {
    match k.first() {
        Some(2) | Some(3) => k.len() == 33,
        Some(4) | Some(6) | Some(7) => k.len() == 65,
        _ => false,
    }
}

/// The witness version and program of a witness output script.
pub fn witness_program(script: &[u8]) -> Option<(u8, &[u8])> {
    let n = script.len();
    if !(4..=42).contains(&n) {
        return None;
    }
    let v = script[0];
    if v != 0 && !(0x51..=0x60).contains(&v) {
        return None;
    }
    if script[1] as usize + 2 != n {
        return None;
    }
    Some((if v == 0 { 0 } else { v - 0x50 }, &script[2..]))
}

fn is_push_only(script: &[u8], mut pc: usize) -> bool {
    while pc < script.len() {
        match get_op(script, &mut pc) {
            Some(op) if op.opcode <= 0x60 => {}
            _ => return false,
        }
    }
    true
}

fn match_multisig(script: &[u8]) -> Option<(u8, Vec<&[u8]>)> {
    if script.last() != Some(&0xae) {
        return None;
    }
    let mut pc = 0;
    let first = get_op(script, &mut pc)?;
    if !(0x51..=0x60).contains(&first.opcode) {
        return None;
    }
    let required = first.opcode - 0x50;
    let mut keys = Vec::new();
    let last = loop {
        let op = get_op(script, &mut pc)?;
        if valid_pubkey_size(op.data) && op.opcode <= 0x4e {
            keys.push(op.data);
        } else {
            break op;
        }
    };
    if !(0x51..=0x60).contains(&last.opcode) {
        return None;
    }
    let n = last.opcode - 0x50;
    if keys.len() != n as usize || n < required || pc + 1 != script.len() {
        return None;
    }
    Some((required, keys))
}

/// `Solver`: the class of an output script.
pub fn classify(script: &[u8]) -> ScriptClass {
    solve(script).0
}

/// The class plus what the addresses are made from.
fn solve(script: &[u8]) -> (ScriptClass, Solution<'_>) {
    let n = script.len();
    if n == 23 && script[0] == 0xa9 && script[1] == 0x14 && script[22] == 0x87 {
        return (ScriptClass::ScriptHash, Solution::Hash(&script[2..22]));
    }
    if let Some((v, prog)) = witness_program(script) {
        return match (v, prog.len()) {
            (0, 20) => (ScriptClass::WitnessV0KeyHash, Solution::Witness(0, prog)),
            (0, 32) => (ScriptClass::WitnessV0ScriptHash, Solution::Witness(0, prog)),
            (1, 32) => (ScriptClass::WitnessV1Taproot, Solution::Witness(1, prog)),
            (0, _) => (ScriptClass::NonStandard, Solution::None),
            (v, _) => (ScriptClass::WitnessUnknown, Solution::Witness(v, prog)),
        };
    }
    if n >= 1 && script[0] == 0x6a && is_push_only(script, 1) {
        return (ScriptClass::NullData, Solution::None);
    }
    if (n == 35 || n == 67) && script[0] as usize == n - 2 && script[n - 1] == 0xac {
        let key = &script[1..n - 1];
        if valid_pubkey_size(key) {
            return (ScriptClass::PubKey, Solution::Keys(1, vec![key]));
        }
    }
    if n == 25
        && script[0] == 0x76
        && script[1] == 0xa9
        && script[2] == 0x14
        && script[23] == 0x88
        && script[24] == 0xac
    {
        return (ScriptClass::PubKeyHash, Solution::Hash(&script[3..23]));
    }
    if let Some((m, keys)) = match_multisig(script) {
        return (ScriptClass::Multisig, Solution::Keys(m, keys));
    }
    (ScriptClass::NonStandard, Solution::None)
}

enum Solution<'a> {
    None,
    Hash(&'a [u8]),
    Witness(u8, &'a [u8]),
    Keys(u8, Vec<&'a [u8]>),
}

/// What Bitcoin Core (before v22) reports for an output script, and bitcoin-etl keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptInfo {
    /// The precise class.
    pub class: ScriptClass,
    /// `reqSigs` (None where Core prints none).
    pub required_signatures: Option<i64>,
    /// Addresses (empty where Core prints none).
    pub addresses: Vec<String>,
}

impl ScriptInfo {
    /// bitcoin-etl's type: Core's type name, or `nonstandard` when there is no address.
    pub fn etl_type(&self) -> &'static str {
        if self.addresses.is_empty() {
            "nonstandard"
        } else {
            self.class.name()
        }
    }
}

/// bitcoin-etl's name of an addressless script: `nonstandard` + SHA-256(script)[..20] hex.
pub fn nonstandard_address(script: &[u8]) -> String {
    let mut s = String::with_capacity(51);
    s.push_str("nonstandard");
    push_hex(&mut s, &sha256(script)[..20]);
    s
}

/// bitcoin-etl's addresses of an output: its own, or its `nonstandard…` name when it has
/// none.
pub fn etl_addresses(addresses: Vec<String>, script: &[u8]) -> Vec<String> {
    if addresses.is_empty() {
        vec![nonstandard_address(script)]
    } else {
        addresses
    }
}

fn key_address(params: &AddressParams, hash: &[u8; 20], script: bool) -> String {
    match params.cashaddr {
        Some(prefix) => address::cashaddr(prefix, script, hash),
        None => address::base58check(if script { params.p2sh } else { params.p2pkh }, hash),
    }
}

/// Classifies an output script and derives its addresses for a chain.
pub fn info(script: &[u8], params: &AddressParams) -> ScriptInfo {
    let (class, sol) = solve(script);
    let (req, addresses) = match (class, sol) {
        (ScriptClass::ScriptHash, Solution::Hash(h)) => {
            let h: &[u8; 20] = h.try_into().unwrap_or(&[0; 20]);
            (Some(1), vec![key_address(params, h, true)])
        }
        (ScriptClass::PubKeyHash, Solution::Hash(h)) => {
            let h: &[u8; 20] = h.try_into().unwrap_or(&[0; 20]);
            (Some(1), vec![key_address(params, h, false)])
        }
        (_, Solution::Witness(v, prog)) => match params.hrp {
            Some(hrp) => (Some(1), vec![address::segwit(hrp, v, prog)]),
            None => (None, vec![]),
        },
        (ScriptClass::PubKey, Solution::Keys(..)) if !params.p2pk => (None, vec![]),
        (_, Solution::Keys(m, keys)) => {
            let addrs: Vec<String> = keys
                .iter()
                .map(|k| key_address(params, &hash160(k), false))
                .collect();
            (Some(m as i64), addrs)
        }
        _ => (None, vec![]),
    };
    ScriptInfo {
        class,
        required_signatures: req,
        addresses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::from_hex;

    #[test]
    fn asm_of_inputs_and_outputs() {
        let sig = from_hex("493046022100e0bc99e312e428ea1559b5bc2e3210f3a7202a7f8b2ee124c6ea9aeda497ecac022100ccda2dc6aac965b4ba3116bc529838538ac0c99fe1a295941d00b5e351f86f0f01").unwrap();
        assert_eq!(
            to_asm(&sig, true, SighashStyle::Bitcoin),
            "3046022100e0bc99e312e428ea1559b5bc2e3210f3a7202a7f8b2ee124c6ea9aeda497ecac022100ccda2dc6aac965b4ba3116bc529838538ac0c99fe1a295941d00b5e351f86f0f[ALL]"
        );
        let p2pkh = from_hex("76a914b5cd7aaed869cd5ccb45868e8666e7e934a2373688ac").unwrap();
        assert_eq!(
            to_asm(&p2pkh, false, SighashStyle::Bitcoin),
            "OP_DUP OP_HASH160 b5cd7aaed869cd5ccb45868e8666e7e934a23736 OP_EQUALVERIFY OP_CHECKSIG"
        );
        assert_eq!(
            to_asm(&[0x02, 0xff, 0xff], false, SighashStyle::Bitcoin),
            "-32767"
        );
        assert_eq!(
            to_asm(&[0x4c, 0x05, 0x01], false, SighashStyle::Bitcoin),
            "[error]"
        );
        assert_eq!(
            to_asm(&[0x00, 0x51, 0x4f], false, SighashStyle::Bitcoin),
            "0 1 -1"
        );
    }

    #[test]
    fn classes() {
        let main = &crate::chain::ChainParams::find("bitcoin", "main")
            .unwrap()
            .addresses;
        let p2pkh = from_hex("76a914b5cd7aaed869cd5ccb45868e8666e7e934a2373688ac").unwrap();
        let i = info(&p2pkh, main);
        assert_eq!(i.class, ScriptClass::PubKeyHash);
        assert_eq!(i.addresses, vec!["1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"]);
        assert_eq!(
            classify(&from_hex("6a0401020304").unwrap()),
            ScriptClass::NullData
        );
        assert_eq!(classify(&from_hex("6a").unwrap()), ScriptClass::NullData);
        assert_eq!(
            classify(&from_hex("6aac").unwrap()),
            ScriptClass::NonStandard
        );
        assert_eq!(
            classify(&from_hex("0014751e76e8199196d454941c45d1b3a323f1433bd6").unwrap()),
            ScriptClass::WitnessV0KeyHash
        );
        assert_eq!(
            classify(&from_hex("5210751e76e8199196d454941c45d1b3a323").unwrap()),
            ScriptClass::WitnessUnknown
        );
        assert_eq!(
            nonstandard_address(&[]),
            "nonstandarde3b0c44298fc1c149afbf4c8996fb92427ae41e4"
        );
    }
}
