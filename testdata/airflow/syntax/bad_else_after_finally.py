def load():
    try:
        rows = fetch()
    finally:
        close()
    else:
        return rows
