from __future__ import annotations

from typing import Callable, Optional, TypedDict


class Row(TypedDict, total=False):
    order_id: int
    status: Optional[str]


def transform(rows: list[Row], key: Callable[[Row], int] | None = None) -> dict[int, Row]:
    out: dict[int, Row] = {}
    for row in rows:
        out[row["order_id"]] = row
    return out


async def fetch(urls: list[str]) -> list[bytes]:
    results = []
    async with session() as s:
        async for chunk in s.stream(urls):
            results.append(await chunk.read())
    return results


def session():
    return None


lambda_default = lambda a, *b, c=1, **d: (a, b, c, d)
x: int
numbers = 1_000_000 + 0x_ff + 0o17 + 0b1010 + 1e-3j.imag
print("ok", end="")
exec("pass")
