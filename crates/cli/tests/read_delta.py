"""Reads one lake table as a Delta table with delta-rs (the `deltalake` package) and with
DuckDB's delta extension (`delta_scan`), and prints, as JSON, each reader's row count, the
first row by KEYS (comma-separated; values rendered by reader_text.py), the count of rows
with BLOCK_COLUMN between LO and HI, and the table version.

    python read_delta.py TABLE_DIR KEYS COLUMNS BLOCK_COLUMN LO HI
"""
import json
import os
import sys

import duckdb
import duckdb_extension_delta
import pyarrow.compute as pc
from deltalake import DeltaTable
from reader_text import text


table_dir, keys, columns = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
block_col, lo, hi = sys.argv[4], int(sys.argv[5]), int(sys.argv[6])

dt = DeltaTable(table_dir)
t = dt.to_pyarrow_table()
first = t.sort_by([(k, "ascending") for k in keys]).slice(0, 1).to_pylist()[0]
in_range = t.filter(
    pc.and_(pc.greater_equal(t[block_col], lo), pc.less_equal(t[block_col], hi))
).num_rows

ext = os.path.join(
    os.path.dirname(duckdb_extension_delta.__file__),
    "extensions",
    "v" + duckdb.__version__,
    "delta.duckdb_extension",
)
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute("LOAD '%s'" % ext)
src = "delta_scan('%s')" % os.path.abspath(table_dir)
quoted = ", ".join('"%s"' % c for c in columns)
order = ", ".join('"%s"' % k for k in keys)
(n,) = con.execute("SELECT count(*) FROM " + src).fetchone()
row = con.execute("SELECT %s FROM %s ORDER BY %s LIMIT 1" % (quoted, src, order)).fetchone()
(n_range,) = con.execute(
    'SELECT count(*) FROM %s WHERE "%s" BETWEEN %d AND %d' % (src, block_col, lo, hi)
).fetchone()
print(json.dumps({
    "version": dt.version(),
    "files": len(dt.file_uris()),
    "deltalake_rows": t.num_rows,
    "duckdb_rows": n,
    "deltalake_range_rows": in_range,
    "duckdb_range_rows": n_range,
    "deltalake_sample": [text(first[c]) for c in columns],
    "duckdb_sample": [text(v) for v in row],
}))
