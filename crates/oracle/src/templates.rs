//! Query templates of the `sql` job: a name, SQL with `{param}` placeholders, typed
//! parameters (decoded from the request's ABI-encoded arguments and written into the SQL
//! as literals, never as text a requester controls) and the ABI types of the one row the
//! query returns (the result, ABI-encoded).
//!
//! The built-in templates ship with the code (so the code version names them); an
//! operator adds more from a JSON file (`--templates FILE`, `{"templates": [{"name", "sql",
//! "params": [{"name", "type"}], "output": ["uint256"]}]}`). Each template's hash
//! (keccak256 of its canonical JSON) is recorded with every result computed from it.
//!
//! Results must be exact: integer arithmetic only (an `AVG` over floats would depend on
//! the order partitions are summed in), which is why the built-ins divide sums by counts.

use std::collections::BTreeMap;
use std::path::Path;

use alloy_primitives::{keccak256, Address, B256, I256, U256};
use ledgerflow_evm::abi::{self, Type, Value};
use serde::{Deserialize, Serialize};

/// A parameter of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    /// `uint64`, `uint256`, `int256`, `address`, `bool`, `bytes32` or `string`.
    #[serde(rename = "type")]
    pub ty: String,
}

/// A query template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    pub sql: String,
    pub params: Vec<Param>,
    /// ABI types of the result row's columns (`uint256`, `int256`, `bool`, `address`,
    /// `bytes32`, `string`).
    pub output: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A template that does not parse, does not fit its arguments, or a result that does not
/// fit its output types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {template}: {message}")]
pub struct TemplateError {
    pub template: String,
    pub message: String,
}

const PARAM_TYPES: &[&str] = &[
    "uint64", "uint256", "int256", "address", "bool", "bytes32", "string",
];
const OUTPUT_TYPES: &[&str] = &["uint256", "int256", "bool", "address", "bytes32", "string"];

impl Template {
    fn err(&self, m: impl Into<String>) -> TemplateError {
        TemplateError {
            template: self.name.clone(),
            message: m.into(),
        }
    }

    /// Checks the types and that every placeholder names a parameter and every parameter
    /// is used.
    pub fn check(&self) -> Result<(), TemplateError> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(self.err("a name is letters, digits and `_`"));
        }
        for p in &self.params {
            if !PARAM_TYPES.contains(&p.ty.as_str()) {
                return Err(self.err(format!(
                    "parameter {} has type {}; one of {}",
                    p.name,
                    p.ty,
                    PARAM_TYPES.join(", ")
                )));
            }
            if !self.sql.contains(&format!("{{{}}}", p.name)) {
                return Err(self.err(format!("parameter {} is not used in the SQL", p.name)));
            }
        }
        for t in &self.output {
            if !OUTPUT_TYPES.contains(&t.as_str()) {
                return Err(self.err(format!(
                    "output type {t}; one of {}",
                    OUTPUT_TYPES.join(", ")
                )));
            }
        }
        if self.output.is_empty() {
            return Err(self.err("no output type"));
        }
        let mut rest = self.sql.as_str();
        while let Some(i) = rest.find('{') {
            let after = &rest[i + 1..];
            let end = after
                .find('}')
                .ok_or_else(|| self.err("an unclosed `{` in the SQL"))?;
            let name = &after[..end];
            if !self.params.iter().any(|p| p.name == name) {
                return Err(self.err(format!("placeholder {{{name}}} names no parameter")));
            }
            rest = &after[end + 1..];
        }
        Ok(())
    }

    /// The ABI types of the parameters.
    pub fn param_types(&self) -> Result<Vec<Type>, TemplateError> {
        let list = self
            .params
            .iter()
            .map(|p| p.ty.as_str())
            .collect::<Vec<_>>()
            .join(",");
        Type::parse_list(&list).map_err(|e| self.err(e.to_string()))
    }

    /// The ABI types of the result.
    pub fn output_types(&self) -> Result<Vec<Type>, TemplateError> {
        Type::parse_list(&self.output.join(",")).map_err(|e| self.err(e.to_string()))
    }

    /// keccak256 of the template's canonical JSON (name, SQL, parameters, output).
    pub fn hash(&self) -> B256 {
        let canon = serde_json::json!({
            "name": self.name, "sql": self.sql,
            "params": self.params.iter().map(|p| [&p.name, &p.ty]).collect::<Vec<_>>(),
            "output": self.output,
        });
        keccak256(canon.to_string().as_bytes())
    }

    /// Decodes ABI-encoded arguments and writes them into the SQL as literals.
    pub fn render(&self, args: &[u8]) -> Result<String, TemplateError> {
        let values = abi::decode(&self.param_types()?, args)
            .map_err(|e| self.err(format!("its arguments: {e}")))?;
        self.render_values(&values)
    }

    /// Writes decoded arguments into the SQL as literals.
    pub fn render_values(&self, values: &[Value]) -> Result<String, TemplateError> {
        if values.len() != self.params.len() {
            return Err(self.err(format!(
                "{} arguments for {} parameters",
                values.len(),
                self.params.len()
            )));
        }
        let mut sql = self.sql.clone();
        for (p, v) in self.params.iter().zip(values) {
            let lit = literal(&p.ty, v)
                .ok_or_else(|| self.err(format!("argument {} is not a {}", p.name, p.ty)))?;
            sql = sql.replace(&format!("{{{}}}", p.name), &lit);
        }
        Ok(sql)
    }

    /// Parses command-line arguments (`name=value` or positional, in parameter order) into
    /// ABI values.
    pub fn parse_args(&self, args: &[String]) -> Result<Vec<Value>, TemplateError> {
        let mut by_name: BTreeMap<&str, &str> = BTreeMap::new();
        let mut positional = Vec::new();
        for a in args {
            match a.split_once('=') {
                Some((k, v)) if self.params.iter().any(|p| p.name == k) => {
                    by_name.insert(k, v);
                }
                _ => positional.push(a.as_str()),
            }
        }
        let mut pos = positional.into_iter();
        let mut out = Vec::new();
        for p in &self.params {
            let text = by_name
                .get(p.name.as_str())
                .copied()
                .or_else(|| pos.next())
                .ok_or_else(|| self.err(format!("no value for parameter {}", p.name)))?;
            out.push(
                parse_value(&p.ty, text)
                    .ok_or_else(|| self.err(format!("{text:?} is not a {} ({})", p.ty, p.name)))?,
            );
        }
        if let Some(extra) = pos.next() {
            return Err(self.err(format!("an argument too many: {extra:?}")));
        }
        Ok(out)
    }
}

/// A command-line value of a parameter type.
pub fn parse_value(ty: &str, s: &str) -> Option<Value> {
    let s = s.trim();
    match ty {
        "uint64" => s.parse::<u64>().ok().map(|v| Value::Uint(U256::from(v))),
        "uint256" => U256::from_str_radix(s, 10).ok().map(Value::Uint),
        "int256" => s.parse::<I256>().ok().map(Value::Int),
        "address" => s.parse::<Address>().ok().map(Value::Address),
        "bool" => match s {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        "bytes32" => {
            let b = alloy_primitives::hex::decode(s).ok()?;
            (b.len() == 32).then_some(Value::FixedBytes(b))
        }
        "string" => Some(Value::String(s.to_string())),
        _ => None,
    }
}

/// A SQL literal of a decoded argument: numbers in decimal, addresses and bytes as
/// lower-case hex strings (as the lake stores them), text quoted with `'` doubled.
fn literal(ty: &str, v: &Value) -> Option<String> {
    Some(match (ty, v) {
        ("uint64", Value::Uint(x)) => u64::try_from(*x).ok()?.to_string(),
        ("uint256", Value::Uint(x)) => x.to_string(),
        ("int256", Value::Int(x)) => x.to_string(),
        ("address", Value::Address(a)) => format!("'{a:#x}'"),
        ("bool", Value::Bool(b)) => b.to_string(),
        ("bytes32", Value::FixedBytes(b)) => format!("'{}'", abi::hex(b)),
        ("string", Value::String(s)) => format!("'{}'", s.replace('\'', "''")),
        _ => return None,
    })
}

/// The templates that ship with the code (EVM lake tables).
pub fn builtin() -> Vec<Template> {
    let p = |n: &str, t: &str| Param {
        name: n.into(),
        ty: t.into(),
    };
    let range = || vec![p("from_block", "uint64"), p("to_block", "uint64")];
    vec![
        Template {
            name: "avg_gas_price".into(),
            description: "mean gas price (wei, rounded down) of the transactions in a block range"
                .into(),
            sql: "SELECT CAST(COALESCE(SUM(gas_price) / COUNT(gas_price), 0) AS BIGINT) \
                  FROM transactions WHERE block_number BETWEEN {from_block} AND {to_block}"
                .into(),
            params: range(),
            output: vec!["uint256".into()],
        },
        Template {
            name: "max_gas_price".into(),
            description: "highest gas price (wei) paid in a block range".into(),
            sql: "SELECT CAST(COALESCE(MAX(gas_price), 0) AS BIGINT) FROM transactions \
                  WHERE block_number BETWEEN {from_block} AND {to_block}"
                .into(),
            params: range(),
            output: vec!["uint256".into()],
        },
        Template {
            name: "tx_count".into(),
            description: "transactions in a block range".into(),
            sql: "SELECT COUNT(*) FROM transactions \
                  WHERE block_number BETWEEN {from_block} AND {to_block}"
                .into(),
            params: range(),
            output: vec!["uint256".into()],
        },
        Template {
            name: "sent_count".into(),
            description: "transactions an address sent in a block range".into(),
            sql: "SELECT COUNT(*) FROM transactions WHERE from_address = {account} \
                  AND block_number BETWEEN {from_block} AND {to_block}"
                .into(),
            params: vec![
                p("account", "address"),
                p("from_block", "uint64"),
                p("to_block", "uint64"),
            ],
            output: vec!["uint256".into()],
        },
    ]
}

/// The built-in templates plus those of `file` (a name in the file replaces a built-in).
pub fn load(file: Option<&Path>) -> Result<Vec<Template>, TemplateError> {
    let mut all: BTreeMap<String, Template> =
        builtin().into_iter().map(|t| (t.name.clone(), t)).collect();
    if let Some(f) = file {
        let text = std::fs::read_to_string(f).map_err(|e| TemplateError {
            template: f.display().to_string(),
            message: e.to_string(),
        })?;
        #[derive(Deserialize)]
        struct File {
            templates: Vec<Template>,
        }
        let parsed: File = serde_json::from_str(&text).map_err(|e| TemplateError {
            template: f.display().to_string(),
            message: format!("not a template file: {e}"),
        })?;
        for t in parsed.templates {
            all.insert(t.name.clone(), t);
        }
    }
    for t in all.values() {
        t.check()?;
    }
    Ok(all.into_values().collect())
}

/// One value of the result row, as the query engine gave it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i128),
    Bool(bool),
    Text(String),
    /// A floating-point number: refused (results must be exact).
    Float(f64),
}

/// ABI-encodes a result row with the template's output types.
pub fn encode_row(t: &Template, row: &[Cell]) -> Result<Vec<u8>, TemplateError> {
    if row.len() != t.output.len() {
        return Err(t.err(format!(
            "the query returned {} columns; the template's output has {}",
            row.len(),
            t.output.len()
        )));
    }
    let mut values = Vec::new();
    for (i, (ty, c)) in t.output.iter().zip(row).enumerate() {
        let bad = |why: &str| t.err(format!("column {} ({ty}): {why}", i + 1));
        values.push(match (ty.as_str(), c) {
            (_, Cell::Null) => return Err(bad("NULL (COALESCE it in the template)")),
            (_, Cell::Float(_)) => {
                return Err(bad(
                    "a floating-point value (results must be exact: CAST to an integer)",
                ))
            }
            ("uint256", Cell::Int(v)) => {
                if *v < 0 {
                    return Err(bad("negative"));
                }
                Value::Uint(U256::from(*v as u128))
            }
            ("uint256", Cell::Text(s)) => {
                Value::Uint(U256::from_str_radix(s, 10).map_err(|_| bad("not a number"))?)
            }
            ("int256", Cell::Int(v)) => {
                Value::Int(I256::try_from(*v).map_err(|_| bad("too wide"))?)
            }
            ("bool", Cell::Bool(b)) => Value::Bool(*b),
            ("address", Cell::Text(s)) => {
                Value::Address(s.parse().map_err(|_| bad("not an address"))?)
            }
            ("bytes32", Cell::Text(s)) => {
                let b = alloy_primitives::hex::decode(s).map_err(|_| bad("not hex"))?;
                if b.len() != 32 {
                    return Err(bad("not 32 bytes"));
                }
                Value::FixedBytes(b)
            }
            ("string", Cell::Text(s)) => Value::String(s.clone()),
            _ => return Err(bad(&format!("a value of the wrong kind ({c:?})"))),
        });
    }
    Ok(abi::encode(&values))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn builtins_check_render_and_encode() {
        let all = load(None).unwrap();
        let avg = all.iter().find(|t| t.name == "avg_gas_price").unwrap();
        let args = abi::encode(&[Value::Uint(U256::from(3u64)), Value::Uint(U256::from(9u64))]);
        let sql = avg.render(&args).unwrap();
        assert!(sql.contains("BETWEEN 3 AND 9"), "{sql}");
        assert!(avg.render(&args[..40]).is_err());
        let sent = all.iter().find(|t| t.name == "sent_count").unwrap();
        let v = sent
            .parse_args(&[
                "to_block=7".into(),
                "0x00000000000000000000000000000000000000Ab".into(),
                "1".into(),
            ])
            .unwrap();
        let sql = sent.render(&abi::encode(&v)).unwrap();
        assert!(
            sql.contains("from_address = '0x00000000000000000000000000000000000000ab'")
                && sql.contains("BETWEEN 1 AND 7"),
            "{sql}"
        );
        assert!(sent.parse_args(&["1".into()]).is_err());
        assert_eq!(
            encode_row(avg, &[Cell::Int(42)]).unwrap(),
            abi::encode(&[Value::Uint(U256::from(42u64))])
        );
        for bad in [
            Cell::Null,
            Cell::Float(1.5),
            Cell::Int(-1),
            Cell::Bool(true),
        ] {
            assert!(encode_row(avg, &[bad]).is_err());
        }
        assert_ne!(avg.hash(), sent.hash());
    }

    #[test]
    fn strings_are_quoted_and_bad_templates_refused() {
        let t = Template {
            name: "by_name".into(),
            sql: "SELECT COUNT(*) FROM tokens WHERE name = {n}".into(),
            params: vec![Param {
                name: "n".into(),
                ty: "string".into(),
            }],
            output: vec!["uint256".into()],
            description: String::new(),
        };
        t.check().unwrap();
        let sql = t
            .render(&abi::encode(&[Value::String("x' OR '1'='1".into())]))
            .unwrap();
        assert!(sql.ends_with("name = 'x'' OR ''1''=''1'"), "{sql}");
        let mut u = t.clone();
        u.sql = "SELECT {m}".into();
        assert!(u.check().is_err());
        let mut u = t.clone();
        u.params[0].ty = "float".into();
        assert!(u.check().is_err());
        let mut u = t;
        u.output = vec!["fixed128x18".into()];
        assert!(u.check().is_err());
    }
}
