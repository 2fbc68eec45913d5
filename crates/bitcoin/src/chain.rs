//! Chain parameters: one entry per chain and network. Adding a chain is one entry in
//! [`CHAINS`].

use std::fmt;

/// How a chain writes addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressParams {
    /// Base58Check version bytes of pay-to-pubkey-hash addresses.
    pub p2pkh: &'static [u8],
    /// Base58Check version bytes of pay-to-script-hash addresses.
    pub p2sh: &'static [u8],
    /// Bech32 human-readable part of segwit addresses (None: no segwit).
    pub hrp: Option<&'static str>,
    /// CashAddr prefix (Bitcoin Cash): when set, P2PKH/P2SH are written as CashAddr.
    pub cashaddr: Option<&'static str>,
    /// Pay-to-pubkey outputs get the P2PKH address of their key, as Bitcoin Core before
    /// 0.21 reported them (and BigQuery's `crypto_bitcoin` carries); Litecoin Core 0.21
    /// reports none (so bitcoin-etl names them `nonstandard…`).
    pub p2pk: bool,
}

/// A chain and network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainParams {
    /// bitcoin-etl's chain name (`bitcoin`, `litecoin`, `bitcoin_cash`, `dogecoin`, `dash`,
    /// `zcash`, …).
    pub chain: &'static str,
    /// `main`, `test`, `signet` or `regtest`.
    pub network: &'static str,
    /// Message start bytes of `blk*.dat` records (the *disk* magic: Bitcoin Cash nodes keep
    /// Bitcoin's on disk even though their network magic differs).
    pub magic: [u8; 4],
    /// Address encoding.
    pub addresses: AddressParams,
    /// Headers may carry AuxPoW (merge-mined) data: version bit 8 (Dogecoin, Namecoin).
    pub auxpow: bool,
    /// `getblock <hash> 2` is unknown: blocks come as `getblock <hash> true` plus one
    /// `getrawtransaction` per transaction (bitcoin-etl's "old API" chains).
    pub old_api: bool,
    /// Raw blocks can be decoded here (false: RPC verbose forms only, e.g. Zcash, Dash).
    pub raw_decodable: bool,
    /// Litecoin MWEB: blocks and transactions may carry MimbleWimble extension data.
    pub mweb: bool,
    /// The genesis block hash (display order).
    pub genesis: &'static str,
}

impl ChainParams {
    /// The lake folder name: the chain for main networks, `chain-network` otherwise.
    pub fn lake_name(&self) -> String {
        if self.network == "main" {
            self.chain.to_string()
        } else {
            format!("{}-{}", self.chain, self.network)
        }
    }

    /// Looks up a chain by name (`bitcoin`, `litecoin`, `bitcoin_cash`/`bitcoin-cash`/`bch`,
    /// `dogecoin`, `dash`, `zcash`, with aliases `btc`, `ltc`, `doge`, `zec`) and network.
    pub fn find(chain: &str, network: &str) -> Option<&'static ChainParams> {
        let chain = canonical_chain(chain)?;
        let network = canonical_network(network)?;
        CHAINS
            .iter()
            .find(|c| c.chain == chain && c.network == network)
    }

    /// The chain whose `blk*.dat` records start with `magic`, preferring `chain` if given.
    pub fn by_magic(magic: [u8; 4], chain: Option<&str>) -> Vec<&'static ChainParams> {
        let want = chain.and_then(canonical_chain);
        CHAINS
            .iter()
            .filter(|c| c.magic == magic && want.is_none_or(|w| w == c.chain))
            .collect()
    }
}

impl fmt::Display for ChainParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.chain, self.network)
    }
}

/// The canonical chain name of an alias.
pub fn canonical_chain(s: &str) -> Option<&'static str> {
    Some(match s.to_ascii_lowercase().as_str() {
        "bitcoin" | "btc" => "bitcoin",
        "litecoin" | "ltc" => "litecoin",
        "bitcoin_cash" | "bitcoin-cash" | "bitcoincash" | "bch" => "bitcoin_cash",
        "dogecoin" | "doge" => "dogecoin",
        "dash" => "dash",
        "zcash" | "zec" => "zcash",
        _ => return None,
    })
}

/// The canonical network name of an alias.
pub fn canonical_network(s: &str) -> Option<&'static str> {
    Some(match s.to_ascii_lowercase().as_str() {
        "main" | "mainnet" => "main",
        "test" | "testnet" | "testnet3" => "test",
        "signet" => "signet",
        "regtest" => "regtest",
        _ => return None,
    })
}

const fn addr(
    p2pkh: &'static [u8],
    p2sh: &'static [u8],
    hrp: Option<&'static str>,
    cashaddr: Option<&'static str>,
) -> AddressParams {
    AddressParams {
        p2pkh,
        p2sh,
        hrp,
        cashaddr,
        p2pk: true,
    }
}

#[allow(clippy::too_many_arguments)]
const fn chain(
    chain: &'static str,
    network: &'static str,
    magic: [u8; 4],
    addresses: AddressParams,
    auxpow: bool,
    old_api: bool,
    raw_decodable: bool,
    genesis: &'static str,
) -> ChainParams {
    ChainParams {
        chain,
        network,
        magic,
        addresses,
        auxpow,
        old_api,
        raw_decodable,
        mweb: false,
        genesis,
    }
}

const BTC_GENESIS: &str = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
const BTC_REGTEST_GENESIS: &str =
    "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206";

/// Every known chain and network.
pub static CHAINS: &[ChainParams] = &[
    chain(
        "bitcoin",
        "main",
        [0xf9, 0xbe, 0xb4, 0xd9],
        addr(&[0x00], &[0x05], Some("bc"), None),
        false,
        false,
        true,
        BTC_GENESIS,
    ),
    chain(
        "bitcoin",
        "test",
        [0x0b, 0x11, 0x09, 0x07],
        addr(&[0x6f], &[0xc4], Some("tb"), None),
        false,
        false,
        true,
        "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    ),
    chain(
        "bitcoin",
        "signet",
        [0x0a, 0x03, 0xcf, 0x40],
        addr(&[0x6f], &[0xc4], Some("tb"), None),
        false,
        false,
        true,
        "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
    ),
    chain(
        "bitcoin",
        "regtest",
        [0xfa, 0xbf, 0xb5, 0xda],
        addr(&[0x6f], &[0xc4], Some("bcrt"), None),
        false,
        false,
        true,
        BTC_REGTEST_GENESIS,
    ),
    ChainParams {
        mweb: true,
        ..chain(
            "litecoin",
            "main",
            [0xfb, 0xc0, 0xb6, 0xdb],
            AddressParams {
                p2pk: false,
                ..addr(&[0x30], &[0x32], Some("ltc"), None)
            },
            false,
            false,
            true,
            "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2",
        )
    },
    ChainParams {
        mweb: true,
        ..chain(
            "litecoin",
            "test",
            [0xfd, 0xd2, 0xc8, 0xf1],
            AddressParams {
                p2pk: false,
                ..addr(&[0x6f], &[0x3a], Some("tltc"), None)
            },
            false,
            false,
            true,
            "4966625a4b2851d9fdee139e56211a0d88575f59ed816ff5e6a63deb4e3e29a0",
        )
    },
    ChainParams {
        mweb: true,
        ..chain(
            "litecoin",
            "regtest",
            [0xfa, 0xbf, 0xb5, 0xda],
            AddressParams {
                p2pk: false,
                ..addr(&[0x6f], &[0x3a], Some("rltc"), None)
            },
            false,
            false,
            true,
            "530827f38f93b43ed12af0b3ad25a288dc02ed74d6d7857862df51fc56c416f9",
        )
    },
    chain(
        "bitcoin_cash",
        "main",
        [0xf9, 0xbe, 0xb4, 0xd9],
        addr(&[0x00], &[0x05], None, Some("bitcoincash")),
        false,
        true,
        true,
        BTC_GENESIS,
    ),
    chain(
        "bitcoin_cash",
        "test",
        [0x0b, 0x11, 0x09, 0x07],
        addr(&[0x6f], &[0xc4], None, Some("bchtest")),
        false,
        true,
        true,
        "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    ),
    chain(
        "bitcoin_cash",
        "regtest",
        [0xfa, 0xbf, 0xb5, 0xda],
        addr(&[0x6f], &[0xc4], None, Some("bchreg")),
        false,
        true,
        true,
        BTC_REGTEST_GENESIS,
    ),
    chain(
        "dogecoin",
        "main",
        [0xc0, 0xc0, 0xc0, 0xc0],
        addr(&[0x1e], &[0x16], None, None),
        true,
        true,
        true,
        "1a91e3dace36e2be3bf030a65679fe821aa1d6ef92e7c9902eb318182c355691",
    ),
    chain(
        "dogecoin",
        "test",
        [0xfc, 0xc1, 0xb7, 0xdc],
        addr(&[0x71], &[0xc4], None, None),
        true,
        true,
        true,
        "bb0a78264637406b6360aad926284d544d7049f45189db5664f3c4d07350559e",
    ),
    chain(
        "dogecoin",
        "regtest",
        [0xfa, 0xbf, 0xb5, 0xda],
        addr(&[0x6f], &[0xc4], None, None),
        true,
        true,
        true,
        "3d2160a3b5dc4a9d62e7e66a295f70313ac808440ef7400d6c0772171ce973a5",
    ),
    chain(
        "dash",
        "main",
        [0xbf, 0x0c, 0x6b, 0xbd],
        addr(&[0x4c], &[0x10], None, None),
        false,
        true,
        false,
        "00000ffd590b1485b3caadc19b22e6379c733355108f107a430458cdf3407ab6",
    ),
    chain(
        "dash",
        "test",
        [0xce, 0xe2, 0xca, 0xff],
        addr(&[0x8c], &[0x13], None, None),
        false,
        true,
        false,
        "00000bafbc94add76cb75e2ec92894837288a481e5c005f6563d91623bf8bc2c",
    ),
    chain(
        "zcash",
        "main",
        [0x24, 0xe9, 0x27, 0x64],
        addr(&[0x1c, 0xb8], &[0x1c, 0xbd], None, None),
        false,
        false,
        false,
        "00040fe8ec8471911baa1db1266ea15dd06b4a8a5c453883c000b031973dce08",
    ),
    chain(
        "zcash",
        "test",
        [0xfa, 0x1a, 0xf9, 0xbf],
        addr(&[0x1d, 0x25], &[0x1c, 0xba], None, None),
        false,
        false,
        false,
        "05a60a92d99d85997cce3b87616c089f6124d7342af37106edc76126334a2c38",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup() {
        assert_eq!(
            ChainParams::find("ltc", "regtest").unwrap().addresses.hrp,
            Some("rltc")
        );
        assert_eq!(
            ChainParams::find("bitcoin-cash", "mainnet").unwrap().chain,
            "bitcoin_cash"
        );
        assert!(ChainParams::find("nope", "main").is_none());
        assert_eq!(
            ChainParams::find("bitcoin", "main").unwrap().lake_name(),
            "bitcoin"
        );
        assert_eq!(
            ChainParams::find("litecoin", "regtest")
                .unwrap()
                .lake_name(),
            "litecoin-regtest"
        );
        assert_eq!(
            ChainParams::by_magic([0xfa, 0xbf, 0xb5, 0xda], Some("litecoin")).len(),
            1
        );
    }
}
