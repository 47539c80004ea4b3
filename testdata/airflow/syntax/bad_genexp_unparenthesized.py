y = [1, 2]


def f(*args):
    return args


f(x for x in y, 1)
