table = "orders"
width = 10
msg = f"{table!r:>{width}} {table.upper()} {{literal}} {'nested'}"
expr = f"{width=}"
multi = f"""
{table}
"""
raw = rf"\d+{table}"
