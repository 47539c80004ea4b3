# Indentation CPython accepts though it looks irregular: continuation lines,
# comments at any column, strings spanning lines, and clauses in line.
total = 1 + \
  2
items = [
 1,
      2,
]


def load(rows):
    for row in rows:
        if row:
            yield row
  # a comment at any column
        elif row is None:
            text = """
  not indentation
"""
            yield text
        else: yield 0
    try:
        pass
    except ValueError:
          pass
    finally:
     pass


if total: \
   total = 2
