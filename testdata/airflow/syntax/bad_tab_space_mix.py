def load(rows):
    for row in rows:
	yield row
        yield None
