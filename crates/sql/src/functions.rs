//! SQL helper functions registered in every session.
//!
//! | function | result |
//! |---|---|
//! | `wei_to_eth(v)` | `DECIMAL(38,18)`, exact (`v`: integer, decimal or decimal string in wei) |
//! | `sat_to_coin(v)` (alias `satoshi_to_btc`) | `DECIMAL(38,8)`, exact (`v` in satoshi) |
//! | `token_amount(v, decimals)` | `DOUBLE`: `v / 10^decimals` (approximate, for charts) |
//! | `hex_to_bytes(s)` | `BINARY` from hex, with or without `0x` (invalid hex → NULL) |
//! | `bytes_to_hex(b)` | `0x`-prefixed lower-case hex |
//! | `normalize_address(s)` | EVM addresses as `0x` + lower-case hex, Bech32 lower-case, others trimmed |
//!
//! Amounts outside the result's range are NULL rather than wrong.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, Decimal128Builder, Float64Builder, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    WeiToEth,
    SatToCoin,
    TokenAmount,
    HexToBytes,
    BytesToHex,
    NormalizeAddress,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct LedgerFn {
    kind: Kind,
    name: &'static str,
    aliases: Vec<String>,
    signature: Signature,
}

/// Registers every helper function in `ctx`.
pub fn register(ctx: &SessionContext) {
    let f = |kind, name, aliases: &[&str], args| {
        ScalarUDF::new_from_impl(LedgerFn {
            kind,
            name,
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            signature: Signature::any(args, Volatility::Immutable),
        })
    };
    ctx.register_udf(f(Kind::WeiToEth, "wei_to_eth", &[], 1));
    ctx.register_udf(f(Kind::SatToCoin, "sat_to_coin", &["satoshi_to_btc"], 1));
    ctx.register_udf(f(Kind::TokenAmount, "token_amount", &[], 2));
    ctx.register_udf(f(Kind::HexToBytes, "hex_to_bytes", &[], 1));
    ctx.register_udf(f(Kind::BytesToHex, "bytes_to_hex", &[], 1));
    ctx.register_udf(f(Kind::NormalizeAddress, "normalize_address", &[], 1));
}

impl ScalarUDFImpl for LedgerFn {
    fn name(&self) -> &str {
        self.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::WeiToEth => DataType::Decimal128(38, 18),
            Kind::SatToCoin => DataType::Decimal128(38, 8),
            Kind::TokenAmount => DataType::Float64,
            Kind::HexToBytes => DataType::Binary,
            Kind::BytesToHex | Kind::NormalizeAddress => DataType::Utf8,
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(n))
            .collect::<Result<_>>()?;
        let first = arrays
            .first()
            .ok_or_else(|| DataFusionError::Plan(format!("{} needs an argument", self.name)))?;
        let out: ArrayRef = match self.kind {
            Kind::WeiToEth => integer_as_decimal(first, 18)?,
            Kind::SatToCoin => integer_as_decimal(first, 8)?,
            Kind::TokenAmount => {
                let v = as_strings(first)?;
                let d = cast(&arrays[1], &DataType::Int64)?;
                let d = d.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                let mut b = Float64Builder::with_capacity(n);
                for i in 0..n {
                    let (Some(s), true) = ((!v.is_null(i)).then(|| v.value(i)), d.is_valid(i))
                    else {
                        b.append_null();
                        continue;
                    };
                    match s.trim().parse::<f64>() {
                        Ok(x) => b.append_value(x / 10f64.powi(d.value(i) as i32)),
                        Err(_) => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::HexToBytes => {
                let v = as_strings(first)?;
                let mut b = BinaryBuilder::with_capacity(n, n * 32);
                for i in 0..n {
                    match (!v.is_null(i)).then(|| decode_hex(v.value(i))).flatten() {
                        Some(bytes) => b.append_value(bytes),
                        None => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::BytesToHex => {
                let v = cast(first, &DataType::Binary)?;
                let v = v.as_binary::<i32>();
                let mut b = StringBuilder::with_capacity(n, n * 66);
                for i in 0..n {
                    if v.is_null(i) {
                        b.append_null();
                    } else {
                        b.append_value(encode_hex(v.value(i)));
                    }
                }
                Arc::new(b.finish())
            }
            Kind::NormalizeAddress => {
                let v = as_strings(first)?;
                let mut b = StringBuilder::with_capacity(n, n * 42);
                for i in 0..n {
                    if v.is_null(i) {
                        b.append_null();
                    } else {
                        b.append_value(normalize_address(v.value(i)));
                    }
                }
                Arc::new(b.finish())
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

fn as_strings(a: &ArrayRef) -> Result<datafusion::arrow::array::StringArray> {
    let s = cast(a, &DataType::Utf8)?;
    Ok(s.as_string::<i32>().clone())
}

/// An integer amount (any integer, scale-0 decimal or decimal string) reinterpreted with
/// `scale` decimals: the unscaled value stays the same, so the conversion is exact.
fn integer_as_decimal(a: &ArrayRef, scale: i8) -> Result<ArrayRef> {
    let v = as_strings(a)?;
    let mut b = Decimal128Builder::with_capacity(v.len());
    for i in 0..v.len() {
        let parsed = (!v.is_null(i))
            .then(|| v.value(i).trim().parse::<i128>().ok())
            .flatten()
            .filter(|x| x.unsigned_abs() < 10u128.pow(38));
        b.append_option(parsed);
    }
    Ok(Arc::new(b.finish().with_precision_and_scale(38, scale)?))
}

/// Hex (with or without `0x`) → bytes; `None` for odd lengths or non-hex digits.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Bytes → `0x` + lower-case hex.
pub fn encode_hex(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("0x");
    for x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

/// The canonical spelling of an address: EVM (`0x` + 40 hex digits, prefix optional) in
/// lower case with `0x`; Bech32/Bech32m (`bc1…`, `ltc1…`, `tb1…`, …, which are
/// case-insensitive) in lower case; CashAddr without a prefix stays as is; Base58 (case
/// matters) only trimmed.
pub fn normalize_address(s: &str) -> String {
    let s = s.trim();
    let body = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if body.len() == 40 && body.bytes().all(|c| c.is_ascii_hexdigit()) {
        return format!("0x{}", body.to_ascii_lowercase());
    }
    let lower = s.to_ascii_lowercase();
    let bech32_hrp = ["bc1", "tb1", "bcrt1", "ltc1", "tltc1", "rltc1"];
    if bech32_hrp.iter().any(|h| lower.starts_with(h))
        && (s == lower || s == s.to_ascii_uppercase())
    {
        return lower;
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_addresses() {
        assert_eq!(decode_hex("0x0aFf"), Some(vec![10, 255]));
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(encode_hex(&[10, 255]), "0x0aff");
        assert_eq!(
            normalize_address(" 0xAbCdEf0123456789abcdef0123456789ABCDEF01 "),
            "0xabcdef0123456789abcdef0123456789abcdef01"
        );
        assert_eq!(
            normalize_address("ABCDEF0123456789ABCDEF0123456789ABCDEF01"),
            "0xabcdef0123456789abcdef0123456789abcdef01"
        );
        assert_eq!(normalize_address("BC1QAR0SRRR"), "bc1qar0srrr");
        assert_eq!(
            normalize_address("bc1qAr0"),
            "bc1qAr0",
            "mixed case is invalid bech32: left alone"
        );
        assert_eq!(normalize_address("1BvBMSEYstWetq"), "1BvBMSEYstWetq");
    }
}
