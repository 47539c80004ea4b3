counter = 0
registry = {}


def bump():
    global counter
    counter += 1
    return counter


def record(key, value):
    registry.key = value
    store(key=value)
    [counter for counter in range(3)]
    global counter
    counter = len(registry)


def store(**kw):
    return kw


def outer():
    total = 0

    def inner():
        nonlocal total
        total += 1
        return total

    return inner


class Config:
    global counter
    counter = 1
