//! The GNN model file: the same bytes for the same model, so its SHA-256 names it (as a
//! tree model's does, and the oracle's registry expects). It holds all that scoring new
//! data needs: the weights, the names, and the standardisation of the inputs.
//!
//! Layout (little-endian): `LFGNN002`, the architecture (`u8`: 0 GCN, 1 SAGE, 2 GAT),
//! input width, hidden width (per head), class count and heads (`u32` each; heads is 1
//! but for GAT), every parameter as `f64` bits in the architecture's parameter order,
//! the class names and the feature names (each a `u32` count, then per name a `u32` byte
//! length and its UTF-8), then per input its standardisation: mean and deviation (`f64`).

use crate::dense::Mat;
use crate::gat::{Gat, GatLayer};
use crate::gcn::Gcn;
use crate::sage::Sage;
use crate::train::Net;

const MAGIC: &[u8; 8] = b"LFGNN002";

/// A model with the names it was trained with and its input scaling.
#[derive(Debug, Clone, PartialEq)]
pub struct GnnModel {
    pub net: Net,
    pub classes: Vec<String>,
    pub features: Vec<String>,
    /// Per input: (mean, deviation) subtracted and divided before the network.
    pub scaling: Vec<(f64, f64)>,
}

/// Input width, hidden width per head, classes, heads.
fn dims(net: &Net) -> (usize, usize, usize, usize) {
    match net {
        Net::Gcn(g) => (g.w1.rows, g.w1.cols, g.w2.cols, 1),
        Net::Sage(s) => (s.ws1.rows, s.ws1.cols, s.ws2.cols, 1),
        Net::Gat(g) => (g.l1.w.rows, g.l1.a_src.cols, g.l2.a_src.cols, g.l1.heads),
    }
}

impl GnnModel {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        let (d, h, c, heads) = dims(&self.net);
        out.push(match self.net {
            Net::Gcn(_) => 0,
            Net::Sage(_) => 1,
            Net::Gat(_) => 2,
        });
        for v in [d, h, c, heads] {
            out.extend_from_slice(&(v as u32).to_le_bytes());
        }
        for p in self.net.params() {
            out.extend_from_slice(&p.to_bits().to_le_bytes());
        }
        for list in [&self.classes, &self.features] {
            out.extend_from_slice(&(list.len() as u32).to_le_bytes());
            for n in list {
                out.extend_from_slice(&(n.len() as u32).to_le_bytes());
                out.extend_from_slice(n.as_bytes());
            }
        }
        for &(m, s) in &self.scaling {
            out.extend_from_slice(&m.to_bits().to_le_bytes());
            out.extend_from_slice(&s.to_bits().to_le_bytes());
        }
        out
    }

    /// Reads a model file; what is wrong, where, when it is not one.
    pub fn from_bytes(b: &[u8]) -> Result<GnnModel, String> {
        let mut r = Reader { b, at: 0 };
        if r.take(8)? != MAGIC {
            return Err("not a ledgerflow GNN model (no LFGNN002 header)".into());
        }
        let arch = r.take(1)?[0];
        if arch > 2 {
            return Err(format!("unknown architecture code {arch}"));
        }
        let (d, h, c) = (r.u32()? as usize, r.u32()? as usize, r.u32()? as usize);
        let heads = r.u32()? as usize;
        if d == 0
            || h == 0
            || c < 2
            || heads == 0
            || d > 1 << 20
            || h > 1 << 16
            || c > 1 << 16
            || heads > 64
            || (arch != 2 && heads != 1)
        {
            return Err(format!(
                "implausible sizes: input {d}, hidden {h}, classes {c}, heads {heads}"
            ));
        }
        let mut mat = |rows: usize, cols: usize| -> Result<Mat, String> {
            let mut v = Vec::with_capacity(rows * cols);
            for _ in 0..rows * cols {
                v.push(r.f64()?);
            }
            Ok(Mat::from_vec(rows, cols, v))
        };
        let net = match arch {
            0 => {
                let w1 = mat(d, h)?;
                let b1 = mat(1, h)?.data;
                let w2 = mat(h, c)?;
                let b2 = mat(1, c)?.data;
                Net::Gcn(Gcn { w1, b1, w2, b2 })
            }
            1 => {
                let ws1 = mat(d, h)?;
                let wn1 = mat(d, h)?;
                let b1 = mat(1, h)?.data;
                let ws2 = mat(h, c)?;
                let wn2 = mat(h, c)?;
                let b2 = mat(1, c)?.data;
                Net::Sage(Sage {
                    ws1,
                    wn1,
                    b1,
                    ws2,
                    wn2,
                    b2,
                })
            }
            2 => {
                let mut layer = |d: usize, heads: usize, f: usize| -> Result<GatLayer, String> {
                    Ok(GatLayer {
                        heads,
                        w: mat(d, heads * f)?,
                        a_src: mat(heads, f)?,
                        a_dst: mat(heads, f)?,
                        b: mat(1, heads * f)?.data,
                    })
                };
                let l1 = layer(d, heads, h)?;
                let l2 = layer(heads * h, 1, c)?;
                Net::Gat(Gat { l1, l2 })
            }
            x => return Err(format!("unknown architecture code {x}")),
        };
        let classes = r.names()?;
        let features = r.names()?;
        if classes.len() != c || features.len() != d {
            return Err(format!(
                "{} class names for {c} classes, {} feature names for {d} inputs",
                classes.len(),
                features.len()
            ));
        }
        let mut scaling = Vec::with_capacity(d);
        for _ in 0..d {
            scaling.push((r.f64()?, r.f64()?));
        }
        if r.at != b.len() {
            return Err(format!("{} bytes after the model", b.len() - r.at));
        }
        Ok(GnnModel {
            net,
            classes,
            features,
            scaling,
        })
    }

    /// Standardises raw feature rows (`features` wide) as training did.
    pub fn scale(&self, raw: &Mat) -> Mat {
        crate::dense::standardise(raw, &self.scaling)
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err(format!("the file ends early (at byte {})", self.at));
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn f64(&mut self) -> Result<f64, String> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(f64::from_bits(u64::from_le_bytes(a)))
    }

    fn names(&mut self) -> Result<Vec<String>, String> {
        let n = self.u32()? as usize;
        if n > 1 << 20 {
            return Err(format!("{n} names"));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let len = self.u32()? as usize;
            let s = self.take(len)?;
            out.push(
                String::from_utf8(s.to_vec())
                    .map_err(|_| format!("a name at byte {} is not UTF-8", self.at))?,
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn round_trips_and_refuses_damage_without_panicking() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for net in [
            Net::Gcn(Gcn::init(3, 4, 2, &mut rng)),
            Net::Sage(Sage::init(3, 4, 2, &mut rng)),
            Net::Gat(Gat::init(3, 4, 3, 2, &mut rng)),
        ] {
            let m = GnnModel {
                net,
                classes: vec!["benign".into(), "risky".into()],
                features: vec!["a".into(), "b".into(), "has_features".into()],
                scaling: vec![(0.5, 2.0), (-1.0, 1.0), (0.25, 0.5)],
            };
            let b = m.to_bytes();
            assert_eq!(GnnModel::from_bytes(&b).unwrap(), m);
            assert_eq!(GnnModel::from_bytes(&b).unwrap().to_bytes(), b);
            for cut in 0..b.len() {
                assert!(GnnModel::from_bytes(&b[..cut]).is_err(), "cut at {cut}");
            }
            let mut extra = b.clone();
            extra.push(0);
            assert!(GnnModel::from_bytes(&extra).unwrap_err().contains("after"));
            let mut bad = b.clone();
            bad[8] = 9;
            assert!(GnnModel::from_bytes(&bad)
                .unwrap_err()
                .contains("architecture"));
        }
        assert!(GnnModel::from_bytes(b"LFMODEL2")
            .unwrap_err()
            .contains("LFGNN002"));
    }
}
