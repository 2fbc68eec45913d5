-- Fees: per day, the fees paid, the median and highest fee rate (satoshi per virtual
-- byte) and the share of transactions with segwit inputs (size > virtual size).
-- Bitcoin family.
SELECT CAST(block_timestamp AS DATE) AS date,
       COUNT(*) AS transactions,
       sat_to_coin(SUM(fee)) AS fees,
       MEDIAN(CAST(fee AS DOUBLE) / virtual_size) AS median_sat_per_vbyte,
       MAX(CAST(fee AS DOUBLE) / virtual_size) AS max_sat_per_vbyte,
       ROUND(100.0 * SUM(CASE WHEN size > virtual_size THEN 1 ELSE 0 END) / COUNT(*), 3) AS segwit_percent
FROM crypto_bitcoin.transactions
WHERE NOT is_coinbase
GROUP BY 1
ORDER BY 1;
