# A format spec that starts with '=' (pad after the sign) reads like := to a
# parser that does not know f-strings: CPython takes {title:=^40} as title
# formatted with "=^40".
title = "load parcels"
width = 40
banner = f"{title:=^40}"
padded = f"{width:=+8} {title:={width}}"
