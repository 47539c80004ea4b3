def load():
    try:
        return fetch()
    except:
        return None
    except ValueError:
        raise
