-- Miners' share of blocks: who produced how many blocks, and their percentage.
-- Bitcoin family: the miner is the address paid by the coinbase transaction's first
-- output.
SELECT array_to_string(o.addresses, ',') AS miner,
       COUNT(*) AS blocks,
       ROUND(100.0 * COUNT(*) / SUM(COUNT(*)) OVER (), 3) AS percent
FROM crypto_bitcoin.outputs o
JOIN crypto_bitcoin.transactions t ON t.hash = o.transaction_hash
WHERE t.is_coinbase AND o."index" = 0
GROUP BY 1
ORDER BY blocks DESC, miner;
