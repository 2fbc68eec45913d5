-- Gas price statistics per day, in gwei, over the price transactions actually paid
-- (the effective gas price of their receipts), by transaction type.
-- EVM (crypto_ethereum).
SELECT CAST(block_timestamp AS DATE) AS date,
       transaction_type,
       COUNT(*) AS transactions,
       MIN(receipt_effective_gas_price) / 1e9 AS min_gwei,
       ROUND(AVG(receipt_effective_gas_price) / 1e9, 6) AS avg_gwei,
       MEDIAN(receipt_effective_gas_price) / 1e9 AS median_gwei,
       MAX(receipt_effective_gas_price) / 1e9 AS max_gwei
FROM crypto_ethereum.transactions
GROUP BY 1, 2
ORDER BY 1, 2;
