//! Entry points for the fuzz targets (`fuzz/`): the block and transaction decoders, the
//! verbose JSON mapping and the script views must never panic on any input.

use crate::chain::ChainParams;
use crate::raw::{decode_block, decode_tx, Format};

/// Decodes arbitrary bytes as a block and as a transaction under every chain format, and
/// renders every decoded script.
pub fn decode_bytes(data: &[u8]) {
    for fmt in [
        Format {
            segwit: true,
            mweb: false,
            auxpow: false,
        },
        Format {
            segwit: true,
            mweb: true,
            auxpow: false,
        },
        Format {
            segwit: false,
            mweb: false,
            auxpow: true,
        },
    ] {
        if let Ok(b) = decode_block(data, 0, fmt) {
            render(&b.txs);
        }
        if let Ok(t) = decode_tx(data, fmt) {
            render(std::slice::from_ref(&t));
        }
    }
    // scripts on their own
    let p = &crate::chain::CHAINS[0].addresses;
    let _ = crate::script::to_asm(data, true, crate::script::SighashStyle::Bitcoin);
    let _ = crate::script::info(data, p);
}

fn render(txs: &[crate::model::Tx]) {
    let Some(params) = ChainParams::find("bitcoin", "main") else {
        return;
    };
    let block = crate::model::Block {
        txs: txs.to_vec(),
        ..Default::default()
    };
    let mut rows = crate::transform::BtcRows::default();
    let mut ix = crate::utxo::UtxoIndex::new();
    crate::transform::block_rows(
        &block,
        params,
        crate::transform::Want::ALL,
        Some(&mut ix),
        &mut rows,
    );
}

/// Parses arbitrary text as verbose block and transaction answers.
pub fn verbose_text(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = crate::verbose::parse_block(s);
        let _ = crate::verbose::parse_tx(s);
        let _ = crate::verbose::parse_amount(s);
    }
}
