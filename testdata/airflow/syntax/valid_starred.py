"""Starred expressions where Python allows them."""
rows = [(1, 2, 3), (4, 5, 6)]
c = [1, 2, 3]
*a, b = c
head, *tail = c
*rest, = c
first, *middle, last = c
(x, *y), z = [1, 2], 3
[p, *q] = c
x = *a, *tail
merged = [*a, *tail]
both = {*a, *tail}
single = (*a,)
print(*a, *tail, sep=", ")
for one, *others in rows:
    print(one, others)


def spread():
    return *a, 1
