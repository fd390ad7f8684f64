"""Rate limit for repeated identical findings in the live log: the first few are
logged, then only a running count at 10, 100, 1000, … (a polling page must not flood
the terminal). Bounded: the oldest keys are forgotten first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class Repeats:
    def __init__(self, first: int = 3, cap: int = 4096) -> None:
        self.first = first  # 0: log everything
        self.cap = cap
        self._counts: OrderedDict[Hashable, int] = OrderedDict()

    def see(self, key: Hashable) -> tuple[bool, int]:
        """Count one occurrence; returns (log it in full?, count so far). A count that
        is a power of ten past the first few is a milestone worth a short line."""
        n = self._counts.pop(key, 0) + 1
        self._counts[key] = n
        while len(self._counts) > self.cap:
            self._counts.popitem(last=False)
        return (self.first == 0 or n <= self.first), n

    @staticmethod
    def milestone(n: int) -> bool:
        return n % 10 == 0 and str(n).rstrip("0") == "1"  # most counts: one modulo
