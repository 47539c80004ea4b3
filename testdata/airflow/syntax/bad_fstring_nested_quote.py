table = "orders"
sql = f"select * from {"raw." + table}"
