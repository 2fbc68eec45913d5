-- Failed transactions: how many per transaction type, and the gas and fees they burnt.
-- EVM (crypto_ethereum).
SELECT transaction_type,
       COUNT(*) AS transactions,
       SUM(CASE WHEN receipt_status = 0 THEN 1 ELSE 0 END) AS failed,
       ROUND(100.0 * SUM(CASE WHEN receipt_status = 0 THEN 1 ELSE 0 END) / COUNT(*), 3) AS failed_percent,
       SUM(CASE WHEN receipt_status = 0 THEN receipt_gas_used ELSE 0 END) AS failed_gas,
       wei_to_eth(SUM(CASE WHEN receipt_status = 0
                           THEN CAST(receipt_gas_used AS DECIMAL(38,0)) * CAST(receipt_effective_gas_price AS DECIMAL(38,0))
                           ELSE CAST(0 AS DECIMAL(38,0)) END)) AS failed_fees_eth
FROM crypto_ethereum.transactions
GROUP BY transaction_type
ORDER BY transaction_type;
