-- Contracts created, by creator kind (externally owned account or factory contract) and
-- detected token standard.
-- EVM (crypto_ethereum).
SELECT CASE WHEN c.creator_address = t.from_address THEN 'account' ELSE 'factory' END AS created_by,
       CASE WHEN c.is_erc20 THEN 'erc20'
            WHEN c.is_erc721 THEN 'erc721'
            WHEN c.is_erc1155 THEN 'erc1155'
            ELSE 'other' END AS kind,
       COUNT(*) AS contracts,
       SUM(CAST(length(c.bytecode) / 2 - 1 AS BIGINT)) AS bytecode_bytes
FROM crypto_ethereum.contracts c
JOIN crypto_ethereum.transactions t ON t.hash = c.transaction_hash
GROUP BY 1, 2
ORDER BY 1, 2;
