-- Daily on-chain transaction value and number of distinct receiving addresses: the
-- denominator of the NVT ratio (network value / daily transaction value) and its
-- companion, daily recipients. Coinbase transactions are not payments and are left out.
-- Bitcoin family (crypto_bitcoin, crypto_litecoin, ...).
WITH daily_value AS (
  SELECT CAST(block_timestamp AS DATE) AS date,
         COUNT(*) AS transactions,
         SUM(output_value) AS value
  FROM crypto_bitcoin.transactions
  WHERE NOT is_coinbase
  GROUP BY 1
),
daily_recipients AS (
  SELECT CAST(o.block_timestamp AS DATE) AS date,
         COUNT(DISTINCT array_to_string(o.addresses, ',')) AS recipients
  FROM crypto_bitcoin.outputs o
  JOIN crypto_bitcoin.transactions t ON t.hash = o.transaction_hash
  WHERE NOT t.is_coinbase
  GROUP BY 1
)
SELECT v.date, v.transactions, sat_to_coin(v.value) AS value, r.recipients
FROM daily_value v
JOIN daily_recipients r ON r.date = v.date
ORDER BY v.date;
