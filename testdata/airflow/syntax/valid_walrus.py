import re

if (m := re.match(r"(\d+)", "42")) is not None:
    value = int(m.group(1))

data = [y for x in range(5) if (y := x * 2) > 4]
