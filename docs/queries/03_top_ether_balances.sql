-- The ten largest ether balances, from the double-entry book: value moved by successful
-- traces, fees paid by senders, priority fees received by miners, withdrawals.
-- EVM (crypto_ethereum).
SELECT address, wei_to_eth(balance) AS balance_eth, entries
FROM crypto_ethereum.balances
ORDER BY balance DESC, address
LIMIT 10;
