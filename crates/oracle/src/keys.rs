//! The worker's key: read from a file that only its owner may read (mode 0600 or
//! stricter), never printed (its `Debug` is redacted; errors name the file, never the
//! key).

use std::path::{Path, PathBuf};

use alloy_primitives::{keccak256, Address};
use k256::ecdsa::SigningKey;

/// A secp256k1 private key.
pub struct PrivateKey(SigningKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({:#x}, key redacted)", self.address())
    }
}

/// Why a key file was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: cannot read the key file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: mode {mode:04o} lets others read the key; make it private with `chmod 600 {path}`"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{path}: not a private key (expected 64 hex digits, optionally 0x-prefixed)")]
    Malformed { path: PathBuf },
}

impl PrivateKey {
    /// A key from 32 bytes (`None`: zero or not below the curve order).
    pub fn from_bytes(b: &[u8]) -> Option<PrivateKey> {
        SigningKey::from_slice(b).ok().map(PrivateKey)
    }

    /// A key from 64 hex digits (optionally `0x`-prefixed, surrounding space ignored).
    pub fn from_hex(text: &str) -> Option<PrivateKey> {
        let t = text.trim();
        let t = t.strip_prefix("0x").unwrap_or(t);
        if t.len() != 64 {
            return None;
        }
        PrivateKey::from_bytes(&alloy_primitives::hex::decode(t).ok()?)
    }

    /// Reads a key file: mode 0600 or stricter (group and others have no access), one
    /// line of 64 hex digits.
    pub fn load(path: &Path) -> Result<PrivateKey, KeyError> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        PrivateKey::from_hex(&text).ok_or_else(|| KeyError::Malformed {
            path: path.to_path_buf(),
        })
    }

    /// The address: the last 20 bytes of keccak256 of the uncompressed public key.
    pub fn address(&self) -> Address {
        let p = self.0.verifying_key().to_encoded_point(false);
        let h = keccak256(&p.as_bytes()[1..]);
        Address::from_slice(&h[12..])
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// anvil's first development key and its well-known address.
    pub const ANVIL0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn key_files_are_private_and_keys_never_printed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("worker.key");
        std::fs::write(&p, format!("0x{ANVIL0}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = PrivateKey::load(&p).unwrap_err().to_string();
        assert!(e.contains("0644") && e.contains("chmod 600"), "{e}");
        assert!(!e.contains(ANVIL0));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let k = PrivateKey::load(&p).unwrap();
        assert_eq!(
            format!("{:#x}", k.address()),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(ANVIL0) && dbg.contains("redacted"), "{dbg}");
        std::fs::write(&p, "not a key").unwrap();
        let e = PrivateKey::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("not a private key") && !e.contains("not a key\n"),
            "{e}"
        );
    }
}
