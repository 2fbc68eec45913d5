//! Query text helpers: BigQuery table names, statement splitting, name suggestions.

/// Rewrites BigQuery's back-quoted table paths (`` `bigquery-public-data.crypto_bitcoin.inputs` ``,
/// `` `crypto_bitcoin.inputs` ``) into the lake's `crypto_bitcoin.inputs`, leaving string
/// literals, quoted identifiers without a dot, and comments alone.
pub fn rewrite_bigquery_paths(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        match c {
            '\'' | '"' => {
                let end = closing(rest, c);
                out.push_str(&rest[..end]);
                rest = &rest[end..];
            }
            '-' if rest.starts_with("--") => {
                let end = rest.find('\n').unwrap_or(rest.len());
                out.push_str(&rest[..end]);
                rest = &rest[end..];
            }
            '`' => {
                let end = closing(rest, '`');
                let inner = &rest[1..end.saturating_sub(1).max(1)];
                if end >= 2 && rest[..end].ends_with('`') && inner.contains('.') {
                    let mut parts: Vec<&str> = inner.split('.').collect();
                    if parts.len() == 3 {
                        parts.remove(0); // the BigQuery project
                    }
                    let quoted: Vec<String> = parts
                        .iter()
                        .map(|p| {
                            if p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                                p.to_string()
                            } else {
                                format!("\"{p}\"")
                            }
                        })
                        .collect();
                    out.push_str(&quoted.join("."));
                } else {
                    out.push_str(&rest[..end]);
                }
                rest = &rest[end..];
            }
            _ => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// The byte length of the quoted run at the start of `s` (opened by `q`), including the
/// closing quote if there is one; a doubled quote is an escaped quote.
fn closing(s: &str, q: char) -> usize {
    let b = s.as_bytes();
    let q = q as u8;
    let mut i = 1;
    while i < b.len() {
        if b[i] == q {
            if i + 1 < b.len() && b[i + 1] == q {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// Splits a script into statements at `;` outside quotes and comments. Empty statements
/// are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let take = match c {
            '\'' | '"' | '`' => closing(rest, c),
            '-' if rest.starts_with("--") => rest.find('\n').unwrap_or(rest.len()),
            ';' => {
                if !cur.trim().is_empty() {
                    out.push(cur.trim().to_string());
                }
                cur.clear();
                rest = &rest[1..];
                continue;
            }
            _ => c.len_utf8(),
        };
        cur.push_str(&rest[..take]);
        rest = &rest[take..];
    }
    if !strip_comments(&cur).trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn strip_comments(s: &str) -> String {
    s.lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `sql` ends a statement: its last significant character, outside quotes and
/// comments, is a `;` (and no quote is left open).
pub fn is_complete(sql: &str) -> bool {
    let mut last = None;
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let take = match c {
            '\'' | '"' | '`' => {
                let n = closing(rest, c);
                if n < 2 || !rest[..n].ends_with(c) {
                    return false; // unclosed quote
                }
                last = Some(c);
                n
            }
            '-' if rest.starts_with("--") => rest.find('\n').unwrap_or(rest.len()),
            c if c.is_whitespace() => c.len_utf8(),
            c => {
                last = Some(c);
                c.len_utf8()
            }
        };
        rest = &rest[take..];
    }
    last == Some(';')
}

/// Levenshtein distance.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `name` (case-insensitive), if it is close enough to be a
/// plausible typo: a matching last part (`transactions` for `crypto_x.transactions`) wins.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    let last = name.rsplit('.').next().unwrap_or(&name).to_string();
    candidates
        .into_iter()
        .map(|c| {
            let lc = c.to_ascii_lowercase();
            let c_last = lc.rsplit('.').next().unwrap_or(&lc).to_string();
            let d = distance(&name, &lc).min(distance(&last, &c_last) + usize::from(name != last));
            (d, c)
        })
        .filter(|(d, c)| *d <= 3.max(c.len() / 3))
        .min_by_key(|(d, c)| (*d, c.len()))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigquery_paths() {
        assert_eq!(
            rewrite_bigquery_paths(
                "SELECT '`a.b`', x FROM `bigquery-public-data.crypto_bitcoin.inputs` JOIN `crypto_x.t` -- `p.q.r`\n"
            ),
            "SELECT '`a.b`', x FROM crypto_bitcoin.inputs JOIN crypto_x.t -- `p.q.r`\n"
        );
        assert_eq!(
            rewrite_bigquery_paths("SELECT `col` FROM t"),
            "SELECT `col` FROM t"
        );
        assert_eq!(rewrite_bigquery_paths("`unclosed.x"), "`unclosed.x");
        assert_eq!(rewrite_bigquery_paths("`p.my-ds.t`"), "\"my-ds\".t");
    }

    #[test]
    fn statements() {
        assert_eq!(
            split_statements("select ';'; select 2 -- ; not here\n;\n ; "),
            vec!["select ';'", "select 2 -- ; not here"]
        );
        assert!(is_complete("select 1;"));
        assert!(is_complete("select 1; -- done"));
        assert!(!is_complete("select ';"));
        assert!(!is_complete("select 1"));
    }

    #[test]
    fn suggestions() {
        let names = [
            "crypto_anvil.transactions",
            "crypto_anvil.traces",
            "crypto_anvil.blocks",
        ];
        assert_eq!(
            closest("crypto_anvil.transaction", names),
            Some("crypto_anvil.transactions")
        );
        assert_eq!(
            closest("transactons", names),
            Some("crypto_anvil.transactions")
        );
        assert_eq!(
            closest("crypto_anvil.blokcs", names),
            Some("crypto_anvil.blocks")
        );
        assert_eq!(closest("zzzzzzzzzzzzzzzz", names), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
