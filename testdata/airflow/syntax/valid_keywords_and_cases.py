# Names that look like keywords, soft keywords, escapes and handlers that
# CPython accepts.
import re

match = 1
case = 2
type = 3
_ = 4
print_ = "\x41\u0042\U00000043\\x\\u"
raw = r"\x \u \U" + rb"\x"
data = b"\x00\xff\u12"
ok = f"{match!r} {case!s} {type!a} {_:>4}"
pattern = re.compile(Rb"\d+"), U"text", BR"x", Rf"{case}"
flat = [x for xs in [[1], [2]] for x in xs] + [*range(2)]


def route(event):
    match event:
        case other if other is None:
            return None
        case Color.RED | None:
            return 1
        case (1 | 2) as small:
            return small
        case (_,):
            return 2
        case [*_]:
            return 3
        case _:
            return 4


class Color:
    RED = 1


try:
    pass
except ValueError:
    pass
except:
    pass
else:
    pass
finally:
    pass
