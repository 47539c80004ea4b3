orders_db_identifier = "orders-dev"
