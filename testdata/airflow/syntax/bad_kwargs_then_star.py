def f(**k, *a):
    return k, a
