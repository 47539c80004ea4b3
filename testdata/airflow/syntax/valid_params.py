def positional(a, /, b, *, c, **kw):
    return a, b, c, kw


def star_then_defaults(*args, b=1, **kw):
    return args, b, kw


def defaults_then_kwonly(a=1, *, b):
    return a, b


keyword_only = lambda *, k: k
anything = lambda *a, **k: (a, k)
obj = type("O", (), {})()
obj.b = [0]
a, b, c = 1, [1], {}
obj.b += [1]
(a) += 1
b[0] += 1
del a, b[0], obj.b, (c)
