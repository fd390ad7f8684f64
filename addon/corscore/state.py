"""All the core's state, in one place (as h11's ``_state.py``: every other module of the
core is pure functions and frozen values).

What the browser remembers between exchanges, as far as the proxy can see it:
- ``preflights``: the preflight cache, by (origin, URL, method): which flow answered it,
  when, until when the browser keeps it, and the header names it asked for;
- ``pending``: preflights that fail only for credentialed requests, awaiting their
  actual request (it comes only if the page did not ask for credentials);
- ``hops``: the next hop expected in a redirect chain, by (URL, method);
- ``jars``: the cookie ledger, each client's cookies as the proxy saw them stored
  (names and attributes, never a value), and whether it allows third-party cookies;
- ``endpoints``: per API endpoint, the origins it answered with their own origin, and the
  security issues already said of it; ``probed``: the endpoints the opt-in probe tried;
  ``probes``: probes in flight, by the flow they are for;
and, for the log, how often each finding was seen (``Repeats``).

Every table is an insertion-ordered ``Table``, capped in entries (the oldest go first)
and ageing out after a fixed lifetime.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, NamedTuple, TypeVar

from .checks import Failure
from .cookies import Cookies, Stored
from .http import url_path
from .model import Finding
from .remedy import Chain, Remedy
from .reasons import SecurityIssue
from .security import Answer, Probe

V = TypeVar("V")

PREFLIGHT_CACHE_CAP = 7200.0  # seconds: Chromium's cap on Access-Control-Max-Age


class Table(Generic[V]):
    """An insertion-ordered map, at most ``cap`` entries (the oldest dropped first),
    whose entries age out ``lifetime`` seconds after the time they were put with."""

    def __init__(self, cap: int, lifetime: float) -> None:
        self.cap = cap
        self.lifetime = lifetime
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def put(self, key: Hashable, value: V, ts: float) -> list[V]:
        """Put (or move to the newest); returns what the cap pushed out, oldest first."""
        old = self._items.pop(key, None)
        self._items[key] = (ts, value)
        out = [old[1]] if old is not None else []
        while len(self._items) > self.cap:
            out.append(self._items.popitem(last=False)[1][1])
        return out

    def get(self, key: Hashable) -> V | None:
        item = self._items.get(key)
        return item[1] if item is not None else None

    def replace(self, key: Hashable, value: V) -> None:
        """A new value for a key, keeping its time and place."""
        ts = self._items[key][0]
        self._items[key] = (ts, value)

    def pop(self, key: Hashable) -> V | None:
        item = self._items.pop(key, None)
        return item[1] if item is not None else None

    def over(self, now: float, inclusive: bool = False) -> bool:
        """Whether the oldest entry's lifetime is over at ``now`` (``inclusive``: an
        entry exactly ``lifetime`` old is over too); entries age in the order put."""
        if not self._items:
            return False
        age = now - next(iter(self._items.values()))[0]
        return not (age < self.lifetime or (age == self.lifetime and not inclusive))

    def expire(self, now: float, inclusive: bool = False) -> list[V]:
        """Remove and return the entries, oldest first, whose lifetime is over at ``now``
        (``over``)."""
        out = []
        while self.over(now, inclusive):
            out.append(self._items.popitem(last=False)[1][1])
        return out

    def values(self) -> list[V]:
        return [v for _, v in self._items.values()]

    def drain(self) -> list[V]:
        out = [v for _, v in self._items.values()]
        self._items.clear()
        return out


class Preflight(NamedTuple):
    """A preflight the browser's preflight cache keeps."""

    key: str  # its flow
    ts: float
    expires: float
    requested: tuple[str, ...]  # the header names it asked for


class Pending(NamedTuple):
    """A preflight that fails only for credentialed requests, awaiting its actual one."""

    key: str
    finding: Finding
    fail_include: Failure
    handle: Any
    remedy: Remedy | None = None  # the remedy once it is known the page sent credentials
    cookies: Cookies | None = None  # the flow's cookie findings, kept with it
    timestamp: float = 0.0  # the preflight's time


class Hop(NamedTuple):
    """What we expect next in a redirect chain."""

    chain: Chain  # the hops so far, and the redirect after which Origin is null
    next_origin: str  # the Origin the next hop carries ("null" once tainted)
    include: bool
    evidence: tuple[str, ...]
    hop: int  # the index (1-based) the next hop will have

    @property
    def first_url(self) -> str:
        return self.chain.hops[0][1]


class Seen(NamedTuple):
    """An endpoint's answers so far, for the security findings that take several flows."""

    origins: tuple[str, ...]  # answered with their own origin (at most ORIGINS_KEPT)
    credentialed: bool  # one of them with Access-Control-Allow-Credentials: true
    said: frozenset[SecurityIssue] = frozenset()


class ProbeRun(NamedTuple):
    """The probes sent for one flow, and the answers so far (None: none yet, or lost)."""

    key: str
    handle: Any
    page: str
    url: str
    probes: tuple[Probe, ...]
    answers: tuple[Answer | None, ...]
    pending: int  # probes not answered yet


ORIGINS_KEPT = 8
PROBE_TIMEOUT = 15.0  # seconds a probe run waits for its answers
DAY = 86400.0


class State:
    """The correlation state: three bounded tables, and the cookie ledger. ``max_age`` is
    how long the preflight cache and redirect chains are remembered; ``preflight_wait``
    how long a pending preflight waits for its actual request. Pending preflights go in
    and out through ``wait``, ``settle``, ``overdue`` and ``drain``, which keep count of
    the methods and URL paths awaited (any other request, most requests, is ruled out in
    one lookup); ``due`` tells whether the oldest one's wait is over."""

    def __init__(self, max_entries: int, preflight_wait: float,
                 max_age: float = PREFLIGHT_CACHE_CAP) -> None:
        self.max_entries = max_entries
        self.preflights: Table[Preflight] = Table(max_entries, max_age)
        self.hops: Table[Hop] = Table(max_entries, max_age)
        self._pending: Table[Pending] = Table(max_entries, preflight_wait)
        self._awaited: dict[str, dict[str, int]] = {}  # method -> URL path -> how many
        self._aged_at = float("-inf")
        self.jars = Jars(max(64, max_entries // 4))
        self.endpoints: Table[Seen] = Table(max(64, max_entries // 4), DAY)
        self.probed: Table[bool] = Table(max(64, max_entries // 16), DAY)
        self.probes: Table[ProbeRun] = Table(64, PROBE_TIMEOUT)
        # for the one line on a capture without cookies (a sanitized HAR): flows with a
        # Cookie or Set-Cookie header, and responses that allow credentials
        self.cookie_flows = 0
        self.credentialed_responses = 0

    def __len__(self) -> int:
        return len(self.preflights) + len(self._pending) + len(self.hops)

    def waiting(self) -> bool:
        return bool(self._awaited)

    def is_pending(self, key: str) -> bool:
        return key in self._pending

    def awaits(self, method: str, path: str | None = None) -> bool:
        """Whether a pending preflight awaits a request of this method (and URL path)."""
        paths = self._awaited.get(method)
        return paths is not None and (path is None or path in paths)

    def wait(self, p: Pending, ts: float) -> None:
        self._count(p, +1)
        for gone in self._pending.put(p.key, p, ts):
            self._count(gone, -1)

    def settle(self, key: str) -> Pending | None:
        p = self._pending.pop(key)
        if p is not None:
            self._count(p, -1)
        return p

    def due(self, now: float) -> bool:
        """Whether ``overdue`` has anything to return at ``now`` (the oldest pending
        preflight's wait is over): for most requests, no."""
        return self._pending.over(now, inclusive=True)

    def overdue(self, now: float) -> list[Pending]:
        """The pending preflights whose wait is over at ``now``, removed."""
        out = self._pending.expire(now, inclusive=True)
        for p in out:
            self._count(p, -1)
        return out

    def drain(self) -> list[Pending]:
        self._awaited.clear()
        return self._pending.drain()

    def _count(self, p: Pending, n: int) -> None:
        method, path = p.finding.method, url_path(p.finding.url)
        paths = self._awaited.setdefault(method, {})
        left = paths.get(path, 0) + n
        if left:
            paths[path] = left
        else:
            del paths[path]
            if not paths:
                del self._awaited[method]

    def tick(self, now: float) -> None:
        """Age out the preflight cache and the redirect chains (at most once a second of
        flow time, or when the clock goes back)."""
        if now - self._aged_at > 1.0 or now < self._aged_at:
            self._aged_at = now
            self.preflights.expire(now)
            self.hops.expire(now)
            self.endpoints.expire(now)
            self.probed.expire(now)


class Repeats:
    """How often each finding was seen, for the log: the first ``first`` in full, then
    only a running count at 10, 100, 1000, … (a polling page must not flood the
    terminal). Capped at ``cap`` keys, the least recently seen forgotten first."""

    def __init__(self, first: int = 3, cap: int = 4096) -> None:
        self.first = first  # 0: log everything
        self._counts: Table[int] = Table(cap, float("inf"))

    def see(self, key: Hashable) -> tuple[bool, int]:
        """Count one occurrence; returns (log it in full?, count so far)."""
        n = (self._counts.get(key) or 0) + 1
        self._counts.put(key, n, 0.0)
        return (self.first == 0 or n <= self.first), n

    @staticmethod
    def milestone(n: int) -> bool:
        """A count worth a short line: a power of ten."""
        return n >= 10 and str(n).rstrip("0") == "1"


class Jar:
    """One client's cookie store as the proxy saw it filled (never a value): the cookies
    by registrable domain (or host, for an IP address), each domain's capped at
    ``per_domain`` (the oldest dropped first), at most ``domains`` domains; and whether
    this client was seen sending a third-party cookie (then it allows them)."""

    def __init__(self, domains: int = 64, per_domain: int = 64) -> None:
        self._sites: Table[OrderedDict] = Table(domains, float("inf"))
        self.per_domain = per_domain
        self.third_party_allowed = False

    def __len__(self) -> int:
        return sum(len(d) for d in self._sites.values())

    def put(self, where: str, c: Stored, ts: float) -> None:
        cookies = self._sites.get(where)
        if cookies is None:
            cookies = OrderedDict()
        self._sites.put(where, cookies, ts)
        cookies.pop(c.key, None)
        cookies[c.key] = c
        while len(cookies) > self.per_domain:
            cookies.popitem(last=False)

    def delete(self, where: str, key: tuple) -> None:
        cookies = self._sites.get(where)
        if cookies is not None:
            cookies.pop(key, None)

    def replace(self, where: str, c: Stored) -> None:
        """The same cookie with a changed flag (e.g. no longer unsure), in place."""
        cookies = self._sites.get(where)
        if cookies is not None and c.key in cookies:
            cookies[c.key] = c

    def all(self) -> list[Stored]:
        return [c for cookies in self._sites.values() for c in cookies.values()]

    def cookies(self, where: str, now: float) -> list[Stored]:
        """The live cookies of a registrable domain (the expired ones dropped)."""
        cookies = self._sites.get(where)
        if not cookies:
            return []
        gone = [k for k, c in cookies.items() if c.expires is not None and c.expires <= now]
        for k in gone:
            del cookies[k]
        return list(cookies.values())


class Jars:
    """The cookie ledger: a ``Jar`` per client (address + User-Agent), at most ``cap``
    clients, a client forgotten ``idle`` seconds after it was last seen."""

    def __init__(self, cap: int = 1024, idle: float = 86400.0) -> None:
        self._jars: Table[Jar] = Table(cap, idle)
        self._aged_at = float("-inf")

    def __len__(self) -> int:
        return len(self._jars)

    def clients(self) -> list[Jar]:
        return self._jars.values()

    def get(self, client: str, ts: float) -> Jar:
        """The client's jar, made if new; it counts as seen now."""
        jar = self._jars.get(client)
        if jar is None:
            jar = Jar()
        self._jars.put(client, jar, ts)
        if ts - self._aged_at > 60.0 or ts < self._aged_at:
            self._aged_at = ts
            self._jars.expire(ts)
        return jar

    def peek(self, client: str) -> Jar | None:
        return self._jars.get(client)
