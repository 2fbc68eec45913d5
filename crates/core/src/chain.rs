//! Chain identifiers.

use std::fmt;

/// An EIP-155 chain id (EVM chains) or a ledgerflow-assigned id for UTXO chains.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ChainId(pub u64);

impl ChainId {
    /// Ethereum mainnet.
    pub const ETHEREUM: ChainId = ChainId(1);
    /// anvil's default chain id.
    pub const ANVIL: ChainId = ChainId(31337);

    /// A short, filesystem-safe name used in the lake layout (`ethereum`, `anvil`, or
    /// `evm-<id>` for chains ledgerflow has no name for).
    pub fn lake_name(self) -> String {
        match known_name(self.0) {
            Some(name) => name.to_string(),
            None => format!("evm-{}", self.0),
        }
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Names of well-known EVM chains, keyed by chain id. Adding a chain is one line.
const KNOWN: &[(u64, &str)] = &[
    (1, "ethereum"),
    (10, "optimism"),
    (56, "bsc"),
    (100, "gnosis"),
    (137, "polygon"),
    (8453, "base"),
    (42161, "arbitrum"),
    (11155111, "sepolia"),
    (17000, "holesky"),
    (31337, "anvil"),
];

/// The lake name of a known chain id.
pub fn known_name(id: u64) -> Option<&'static str> {
    KNOWN.iter().find(|(i, _)| *i == id).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(ChainId(1).lake_name(), "ethereum");
        assert_eq!(ChainId(31337).lake_name(), "anvil");
        assert_eq!(ChainId(999).lake_name(), "evm-999");
    }
}
