"""Reads one lake table with pyarrow and with DuckDB (third-party readers) and prints, as
JSON, each reader's row count and the first row by KEYS (comma-separated), values
rendered as text: integers and decimals in base 10, booleans true/false, timestamps as
Unix seconds, dates ISO, NULL for null.

    python read_lake.py TABLE_DIR KEYS COLUMNS
"""
import json
import sys

import duckdb
import pyarrow.dataset as ds
from reader_text import text


table_dir, keys, columns = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
t = ds.dataset(table_dir, format="parquet").to_table()
first = t.sort_by([(k, "ascending") for k in keys]).slice(0, 1).to_pylist()[0]
con = duckdb.connect()
quoted = ", ".join('"%s"' % c for c in columns)
order = ", ".join('"%s"' % k for k in keys)
src = "read_parquet('%s/*.parquet')" % table_dir
(n,) = con.execute("SELECT count(*) FROM " + src).fetchone()
row = con.execute("SELECT %s FROM %s ORDER BY %s LIMIT 1" % (quoted, src, order)).fetchone()
print(json.dumps({
    "pyarrow_rows": t.num_rows,
    "duckdb_rows": n,
    "pyarrow_sample": [text(first[c]) for c in columns],
    "duckdb_sample": [text(v) for v in row],
}))
