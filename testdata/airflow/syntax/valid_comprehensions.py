y = [1, 2, 3]
pairs = [(1, "a"), (2, "b")]
total = sum(x for x in y)
evens = sum(x for x in y if x % 2 == 0)
squares = [x * x for x in (1, 2)]
swapped = [(b, a) for a, b in pairs]
index = {k: v for k, v in pairs}
flat = [v for row in [y, y] for v in row]
maxed = max((x for x in y), default=0)
sorted_pairs = sorted(pairs, key=lambda p: p[1])
