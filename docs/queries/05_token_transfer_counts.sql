-- Transfers per token contract, CryptoKitties-style: how many transfers, distinct senders
-- and receivers, and (for NFTs) distinct token ids, busiest first.
-- EVM (crypto_ethereum).
SELECT token_address,
       token_standard,
       COUNT(*) AS transfers,
       COUNT(DISTINCT from_address) AS senders,
       COUNT(DISTINCT to_address) AS receivers,
       COUNT(DISTINCT token_id) AS token_ids
FROM crypto_ethereum.token_transfers
GROUP BY token_address, token_standard
ORDER BY transfers DESC, token_address;
