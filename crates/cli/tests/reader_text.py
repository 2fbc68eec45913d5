"""How the reader scripts render a value as text, to compare it with ledgerflow's: integers
and decimals in base 10, booleans true/false, timestamps as Unix seconds, dates ISO, NULL
for null."""
import datetime
import decimal


def text(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return str(int(v.timestamp()))
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(int(v)) if v == v.to_integral_value() else str(v)
    return str(v)
