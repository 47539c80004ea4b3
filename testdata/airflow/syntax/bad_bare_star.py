def f(*, **k):
    return k
