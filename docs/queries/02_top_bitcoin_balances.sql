-- The ten largest balances, from the double-entry book (every output credits its
-- address, every input debits the address of the output it spends).
-- Bitcoin family.
SELECT address, sat_to_coin(balance) AS balance, entries
FROM crypto_bitcoin.balances
WHERE balance > 0
ORDER BY balance DESC, address
LIMIT 10;
