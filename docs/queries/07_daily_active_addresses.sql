-- Daily active addresses: distinct senders, distinct receivers and both together, from
-- top-level transactions.
-- EVM (crypto_ethereum).
WITH sides AS (
  SELECT CAST(block_timestamp AS DATE) AS date, from_address AS address, 'from' AS side
  FROM crypto_ethereum.transactions
  UNION ALL
  SELECT CAST(block_timestamp AS DATE), to_address, 'to'
  FROM crypto_ethereum.transactions WHERE to_address IS NOT NULL
)
SELECT date,
       COUNT(DISTINCT CASE WHEN side = 'from' THEN address END) AS senders,
       COUNT(DISTINCT CASE WHEN side = 'to' THEN address END) AS receivers,
       COUNT(DISTINCT address) AS active
FROM sides
GROUP BY date
ORDER BY date;
