"""The stateful part of the core: correlates preflights, actual requests and redirect
hops, and turns each CORS exchange into a Finding. Sans-IO: it is fed Exchanges and
clock readings, and returns ``(key, Finding)`` updates for the caller to render. State
is bounded in entries and in age.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from .checks import (
    CORS,
    PREFLIGHT,
    Failure,
    PreflightRequest,
    check_access,
    check_preflight,
    check_redirect_location,
    hidden_response_headers,
    is_redirect,
    parse_preflight_request,
)
from .http import (
    REQUEST_HEADERS_READ,
    RESPONSE_HEADERS_READ,
    _name,
    _NAMES,
    cookie_names,
    origin_of,
    redact_url,
    strip_userinfo,
    text,
)
from .model import Exchange, Finding, render_texts

Update = tuple[str, Finding]

PREFLIGHT_CACHE_DEFAULT = 5.0  # seconds, when Access-Control-Max-Age is absent
PREFLIGHT_CACHE_CAP = 7200.0  # Chromium's cap
MEMO = 256  # verdicts remembered by their inputs, for preflights and for actual
# responses each (0: none)

# Every response header check_preflight reads: with the request, the status and these
# values, its verdicts are fixed (a pure function), so repeats are looked up.
_PREFLIGHT_READS = ("location", "access-control-allow-origin",
                    "access-control-allow-credentials", "access-control-allow-methods",
                    "access-control-allow-headers", "access-control-allow-private-network")


# What makes a finding depend on more than the exchange itself: an Authorization header
# (whether a preflight announced it, and when), a Location (a redirect: the next hop is
# expected), an Access-Control-Expose-Headers line (every response header's name counts).
# (What a preflight changes in the correlation state is a function of its signature:
# a remembered preflight makes the same changes, see Analyzer._remembered_preflight.)
_UNREMEMBERED_RESPONSE = frozenset(("location", "access-control-expose-headers"))
SIGNATURE_MAX_VALUE = 1024  # longer header values and URLs are not remembered (memory)


def exchange_signature(method: str, url: str, request_fields, status: int,
                       response_fields, websocket: bool = False) -> tuple | None:
    """Everything ``Analyzer.response`` reads of an exchange, as one hashable value, for
    the exchanges whose finding depends on nothing else but the correlation state (an
    actual response: the earlier preflight; a preflight: a redirect hop expected at its
    URL): the method, the redacted URL (its origin, path and query names), the status,
    and the raw request and response header lines the core reads (names lower-cased,
    values as given), the cookie lines reduced to the cookie names. None for the others
    (see ``_UNREMEMBERED_RESPONSE``), for a websocket handshake (rare, and never CORS
    itself), and for exchanges with a value or a URL longer than ``SIGNATURE_MAX_VALUE``
    (remembered values stay small). Fields are the proxy's raw ``(name, value)`` pairs,
    bytes or str. No secret is kept: the Cookie values are reduced to names, and an
    Authorization header means no signature."""
    if websocket or len(url) > SIGNATURE_MAX_VALUE:
        return None
    req = []
    cookies = []
    names = _NAMES
    for n, v in request_fields:
        name = names.get(n) or _name(n)
        if name in REQUEST_HEADERS_READ:
            if name == "cookie":
                cookies.append(text(v))
            elif name == "authorization" or len(v) > SIGNATURE_MAX_VALUE:
                return None
            else:
                req.append((name, v))
    resp = []
    for n, v in response_fields:
        name = names.get(n) or _name(n)
        if name in RESPONSE_HEADERS_READ:
            if name in _UNREMEMBERED_RESPONSE or len(v) > SIGNATURE_MAX_VALUE:
                return None
            resp.append((name, v))
    if cookies:  # names only: values are secrets, and vary
        req.append(("cookie", tuple(cookie_names(cookies))))
    return (method, redact_url(url), status, tuple(req), tuple(resp))


def classify(ex: Exchange) -> str | None:
    """``"preflight"``, ``"cors"`` or ``None`` (not a CORS exchange: same-origin,
    navigation, no-cors, websocket, CONNECT, no Origin). Computed once per exchange."""
    if ex.kind == "?":
        ex.kind = _classify(ex)
    return ex.kind


def _classify(ex: Exchange) -> str | None:
    if ex.websocket or ex.method == "CONNECT":
        return None
    rq = ex.req_index
    origin = rq.get("origin")
    if origin is None:
        return None
    mode = rq.get("sec-fetch-mode")
    if mode is not None and mode.lower() != "cors":
        return None
    target = ex.target_origin
    if target is None or origin == target:
        return None
    if mode is None and _looks_like_navigation(ex):
        return None
    if ex.method == "OPTIONS" and "access-control-request-method" in rq:
        return PREFLIGHT
    return CORS


def _looks_like_navigation(ex: Exchange) -> bool:
    dest = (ex.req("sec-fetch-dest") or "").lower()
    if dest in ("document", "iframe", "frame", "embed", "object"):
        return True
    if ex.req("upgrade") is not None and "websocket" in (ex.req("upgrade") or "").lower():
        return True
    if ex.req("upgrade-insecure-requests") is not None:
        return True
    accept = (ex.req("accept") or "").lower()
    return accept.startswith("text/html")


def _strip_fragment(url: str) -> str:
    return url.partition("#")[0] if "#" in url else url


def _max_age(value: str | None) -> float:
    if value is None:
        return PREFLIGHT_CACHE_DEFAULT
    try:
        n = int(value.strip())
    except ValueError:
        return PREFLIGHT_CACHE_DEFAULT
    return float(min(max(n, 0), PREFLIGHT_CACHE_CAP))


# A preflight seen, what the browser's preflight cache keeps of it, by (origin, URL,
# method): (flow key, time, expiry of the cache entry, requested header names). A plain
# tuple of atomic values on purpose: CPython's collector stops tracking such tuples (not
# named tuples, not instances), so the thousands kept do not make the whole process
# pay for more full collections.
_Preflight = tuple[str, float, float, tuple[str, ...]]


@dataclass(slots=True)
class _Awaiting:
    """A preflight that fails only for credentialed requests, while it awaits its actual
    request (few at a time)."""

    key: str
    ts: float
    method: str
    finding: Finding
    fail_include: Failure


@dataclass(slots=True)
class _Hop:
    """What we expect next in a redirect chain."""

    ts: float
    first_url: str
    next_origin: str  # the Origin the next hop carries ("null" once tainted)
    include: bool
    evidence: list[str]
    hop: int  # the index (1-based) the next hop will have


class _PreflightVerdicts:
    """check_preflight's verdicts on one set of inputs, without and with credentials,
    with the checks and warnings recorded (never changed: findings get copies), and the
    if-credentialed hint once rendered."""

    __slots__ = ("fail_omit", "checks", "warnings", "fail_incl", "checks_incl", "hint")

    def __init__(self, req: PreflightRequest, status: int | None,
                 headers: dict[str, str]) -> None:
        checks: list[dict[str, Any]] = []
        warnings: list[str] = []
        checks_incl: list[dict[str, Any]] = []
        self.fail_omit = check_preflight(req, status, headers, False, checks, warnings)
        self.fail_incl = check_preflight(req, status, headers, True, checks_incl)
        self.checks = tuple(checks)
        self.warnings = tuple(warnings)
        self.checks_incl = tuple(checks_incl)
        self.hint: dict[str, Any] | None = None


class _RememberedPreflight:
    """A preflight's finding remembered by its signature (a private copy, its metadata
    rendered once) with what the preflight put into the correlation state: the
    requested header names, the preflight cache's lifetime, and the failure that a
    credentialed actual request would meet (None: the preflight is not left pending)."""

    __slots__ = ("finding", "requested", "max_age", "fail_include")

    def __init__(self, finding: Finding, requested: tuple[str, ...], max_age: float,
                 fail_include: Failure | None) -> None:
        self.finding = finding
        self.requested = requested
        self.max_age = max_age
        self.fail_include = fail_include


_UNKNOWN: Any = object()  # nothing remembered


def _keep(memo: dict, key: Any, value: Any, cap: int) -> None:
    """Remember ``value`` by ``key`` in a memo of at most ``cap`` entries: cleared when
    full, simple and bounded (rebuilt from the next inputs)."""
    if len(memo) >= cap:
        memo.clear()
    memo[key] = value


def _copies(checks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(c) for c in checks]


def _copy(f: Finding, related: dict[str, Any], seq: type[list] | type[tuple]) -> Finding:
    """The same finding with its own ``related`` and its own copies of every container
    (check dicts, the hint), the sequences made ``seq`` (tuples for a remembered one),
    and the same rendered metadata if any."""
    hint = f.if_credentialed
    return Finding(  # positional: the fields' order
        f.verdict, f.role, f.origin, f.url, f.method, seq(f.credentials), f.credentials_mode,
        f.reason, f.failed_parameter, f.fields, f.confidence, tuple(f.warnings),
        tuple(f.hidden_headers),
        {**hint, "fix_headers": seq(hint["fix_headers"])} if hint is not None else None,
        related, seq(_copies(f.checks)), f.rendered,
    )


class _Bounded(OrderedDict):
    """An insertion-ordered map capped in entries; the oldest entries go first."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap

    def put(self, key: Any, value: Any) -> None:
        if key in self:
            del self[key]
        self[key] = value
        while len(self) > self.cap:
            self.popitem(last=False)


class _Pending:
    """Preflights awaiting their actual request, oldest first, capped; with a count per
    requested method so that a request of another method is ruled out in one lookup."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._items: OrderedDict[str, _Awaiting] = OrderedDict()
        self.methods: dict[str, int] = {}  # requested method -> pending preflights
        # The oldest item's timestamp, kept (not looked up) because the adapter asks
        # expiry_due() on every request while something is pending.
        self.first_ts = float("inf")

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def put(self, key: str, aw: _Awaiting) -> None:
        self.pop(key)
        if not self._items:
            self.first_ts = aw.ts
        self._items[key] = aw
        method = aw.method
        self.methods[method] = self.methods.get(method, 0) + 1
        while len(self._items) > self.cap:
            self.pop(next(iter(self._items)))

    def pop(self, key: str) -> _Awaiting | None:
        aw = self._items.pop(key, None)
        if aw is not None:
            if aw.ts == self.first_ts or not self._items:
                first = self.oldest()
                self.first_ts = first.ts if first is not None else float("inf")
            method = aw.method
            n = self.methods[method] - 1
            if n:
                self.methods[method] = n
            else:
                del self.methods[method]
        return aw

    def oldest(self) -> _Awaiting | None:
        return next(iter(self._items.values()), None)

    def drain(self) -> list[_Awaiting]:
        out = list(self._items.values())
        self._items.clear()
        self.methods.clear()
        self.first_ts = float("inf")
        return out


class Analyzer:
    """Feed it exchanges in arrival order; it returns findings.

    - ``request(ex)``: a request was seen (its response may follow). Returns updates
      for earlier flows it settles (a pending preflight whose actual request arrived).
    - ``response(ex)``: the exchange is complete. Returns updates, the first one for
      this exchange when it is a CORS exchange.
    - ``remembered_response(signature, …)``: the same, looked up by the exchange's
      ``exchange_signature`` when an earlier exchange had the same inputs (None: call
      ``response(ex, signature)``, which remembers it).
    - ``expire(now)``: settle pending preflights whose actual request did not follow
      within ``preflight_wait`` seconds (flow time or wall time, caller's choice).
    - ``flush()``: settle everything pending (end of a capture).
    """

    def __init__(self, *, max_entries: int = 4096, max_age: float = PREFLIGHT_CACHE_CAP,
                 preflight_wait: float = 3.0, memo: int = MEMO) -> None:
        self.preflight_wait = preflight_wait
        self.memo = memo
        self._verdicts: dict[tuple, _PreflightVerdicts] = {}  # inputs -> verdicts
        # exchange_signature -> the finding (None: not a CORS exchange)
        self._findings: dict[tuple, Finding | _RememberedPreflight | None] = {}
        self.max_entries = max_entries
        self.max_age = max_age
        self._preflights: _Bounded = _Bounded(max_entries)  # (origin, url, method) -> _Preflight
        self._pending = _Pending(max_entries)  # key -> _Preflight awaiting its actual
        # requested method -> pending preflights (the same dict has_pending reads, never
        # replaced): empty when nothing is pending, for callers that test every request.
        self.pending_methods: dict[str, int] = self._pending.methods
        self._hops: _Bounded = _Bounded(max_entries)  # (url, method) -> _Hop
        self._aged_at = float("-inf")

    # -- state size, for tests and benchmarks
    def has_pending(self, method: str | None = None) -> bool:
        """Whether a preflight awaits its actual request (only then do requests matter),
        or one for a request of this method."""
        methods = self.pending_methods  # every pending preflight counts in it: one lookup
        return method in methods if method is not None else bool(methods)

    def expiry_due(self, now: float) -> bool:
        """Whether ``expire(now)`` would settle anything: a one-comparison test callers
        can make on every flow."""
        return now - self._pending.first_ts >= self.preflight_wait

    def awaits(self, origin: str | None, url: str, method: str) -> bool:
        """Whether a pending preflight waits for exactly this request: a cheap test
        before building an Exchange for it."""
        pf = self._preflights.get((origin or "", _strip_fragment(url), method))
        return pf is not None and pf[0] in self._pending

    def state_size(self) -> int:
        return len(self._preflights) + len(self._pending) + len(self._hops)

    # -- inputs
    def request(self, ex: Exchange) -> list[Update]:
        self._tick(ex.timestamp)
        kind = classify(ex)
        updates = self.expire(ex.timestamp)
        if kind != CORS:
            return updates
        origin = ex.req("origin") or ""
        key = (origin, _strip_fragment(ex.url), ex.method)
        pf = self._preflights.get(key)
        aw = self._pending.pop(pf[0]) if pf is not None else None
        if aw is not None:
            updates.append((aw.key, self._settle_followed(aw, ex.key)))
        return updates

    def response(self, ex: Exchange, signature: tuple | None = None) -> list[Update]:
        """``signature``: ``exchange_signature`` of this exchange, when the caller has it:
        the finding is then remembered for ``remembered_response``."""
        self._tick(ex.timestamp)
        kind = classify(ex)
        if kind is None or ex.status is None or ex.response_headers is None:
            if signature is not None and ex.status is not None:
                self._remember(signature, None)
            return []
        if kind == PREFLIGHT:
            return [(ex.key, self._preflight(ex, signature)), *self.expire(ex.timestamp)]
        finding = self._actual(ex)
        if (signature is not None and self.memo and finding.role == "actual"
                and "hop" not in finding.related):
            self._remember(signature, self._template(finding))
        return [(ex.key, finding)]

    def remembered_response(self, signature: tuple, key: str, url: str,
                            timestamp: float) -> list[Update] | None:
        """What ``response`` returns for an exchange with this ``exchange_signature``, from
        the finding remembered for an earlier one: the same finding, with this exchange's
        own ``related`` (its preflight; a preflight's own correlation), and the same
        changes to the correlation state. None when nothing is remembered for it, or when
        a redirect hop is expected at its URL: then call ``response``. The finding given
        out carries the remembered one's rendered metadata (``Finding.rendered``); the
        only findings ever changed afterwards, pending preflights settled later, drop it."""
        t = self._findings.get(signature, _UNKNOWN)
        if t is _UNKNOWN:
            return None
        if t is None:  # not a CORS exchange
            self._tick(timestamp)
            return []
        url = _strip_fragment(url)
        f = t.finding if type(t) is _RememberedPreflight else t
        method = f.method
        if self._hops and (url, method) in self._hops:
            return None  # maybe a hop in a redirect chain: response() tells
        self._tick(timestamp)
        if f is not t:
            return self._remembered_preflight(t, key, url, timestamp)
        pf = self._preflights.get((t.origin, url, method)) if self._preflights else None
        return [(key, _copy(t, {"preflight": pf[0]} if pf is not None else {}, list))]

    def _remembered_preflight(self, r: _RememberedPreflight, key: str, url: str,
                              ts: float) -> list[Update]:
        """``_preflight`` and what ``response`` adds, for a preflight whose signature was
        seen: the same finding, with this flow's own ``related``, and the same changes to
        the correlation state (the preflight seen; left pending when it fails only for
        credentialed requests)."""
        t = r.finding
        finding = _copy(t, {"actual_method": t.method, "requested_headers": list(r.requested)},
                        list)
        self._enter_preflight(finding, key, ts, url, r.requested, r.max_age, r.fail_include)
        return [(key, finding), *self.expire(ts)]

    def _enter_preflight(self, finding: Finding, key: str, ts: float, url: str,
                         requested: tuple[str, ...], max_age: float,
                         awaiting: Failure | None) -> None:
        """What a preflight leaves in the correlation state, fresh or remembered: its entry
        in the preflight cache, and, when it fails only for credentialed requests
        (``awaiting``: that failure), the wait for its actual request."""
        if awaiting is not None:
            finding.related["awaiting_actual"] = True
            self._pending.put(key, _Awaiting(key, ts, finding.method, finding, awaiting))
        seen: _Preflight = (key, ts, ts + max_age, requested)
        self._preflights.put((finding.origin, url, finding.method), seen)

    def _remember(self, signature: tuple,
                  entry: Finding | _RememberedPreflight | None) -> None:
        """Remember what an exchange with this signature gets: an actual response's
        template (``_template``), a preflight's, or None (not a CORS exchange)."""
        if self.memo:
            _keep(self._findings, signature, entry, self.memo)

    @staticmethod
    def _template(finding: Finding) -> Finding:
        """A private copy to give out copies of: its sequences tuples (the caller's finding
        is the flow's), its ``related`` empty, its metadata rendered once for all the
        findings given out from it."""
        t = _copy(finding, {}, tuple)
        t.rendered = t.to_metadata(comment=True)
        return t

    def expire(self, now: float) -> list[Update]:
        out: list[Update] = []
        while (aw := self._pending.oldest()) is not None and now - aw.ts >= self.preflight_wait:
            self._pending.pop(aw.key)
            out.append((aw.key, self._settle_unfollowed(aw)))
        self._tick(now)
        return out

    def flush(self) -> list[Update]:
        return [(aw.key, self._settle_unfollowed(aw)) for aw in self._pending.drain()]

    # -- internals
    def _tick(self, ts: float) -> None:
        if ts - self._aged_at > 1.0 or ts < self._aged_at:
            self._aged_at = ts
            self._age_out(ts)

    def _age_out(self, now: float) -> None:
        preflights, hops, max_age = self._preflights, self._hops, self.max_age
        while preflights:
            _, (_, ts, expires, _) = next(iter(preflights.items()))
            if now - ts <= max_age and now <= expires + max_age:
                break
            preflights.popitem(last=False)
        while hops and now - next(iter(hops.values())).ts > max_age:
            hops.popitem(last=False)

    def _preflight(self, ex: Exchange, signature: tuple | None = None) -> Finding:
        origin = ex.req("origin") or ""
        req = parse_preflight_request(
            origin, ex.req("access-control-request-method") or "",
            ex.req("access-control-request-headers"),
            ex.req("access-control-request-private-network"),
        )
        headers = ex.resp_index
        url = _strip_fragment(ex.url)
        hop = self._hops.get((url, req.method)) if self._hops else None
        if hop is not None and hop.next_origin != origin:
            hop = None
        v = self._preflight_verdicts(req, ex.status, headers)
        fail_omit, fail_incl = v.fail_omit, v.fail_incl
        awaiting = None  # the failure a credentialed actual request would meet, if pending
        finding = Finding(
            verdict="exposed", role="preflight", origin=origin, url=redact_url(ex.url),
            method=req.method, warnings=list(v.warnings), checks=_copies(v.checks),
        )
        finding.related["actual_method"] = req.method
        finding.related["requested_headers"] = list(req.headers)
        if hop is not None:  # a hop in a redirect chain: its credentials mode is known
            finding.related["hop"] = hop.hop
            finding.credentials = list(hop.evidence)
            finding.credentials_mode = "include" if hop.include else "omit-or-same-origin"
            failure = fail_incl if hop.include else fail_omit
            if hop.include:
                finding.checks = _copies(v.checks_incl)
            if failure is not None:
                self._fail(finding, failure, ex, not_sent=True)
        elif fail_omit is not None:
            self._fail(finding, fail_omit, ex, not_sent=True)
            if fail_incl is not None and fail_incl.reason != fail_omit.reason:
                finding.if_credentialed = self._preflight_hint(v, finding, ex)
        elif fail_incl is not None:
            # Passes unless the page asked for credentials: the actual request tells.
            finding.if_credentialed = self._preflight_hint(v, finding, ex)
            awaiting = fail_incl
        max_age = _max_age(ex.resp("access-control-max-age"))
        self._enter_preflight(finding, ex.key, ex.timestamp, url, req.headers, max_age, awaiting)
        if signature is not None and hop is None and self.memo:
            self._remember(signature, _RememberedPreflight(
                self._template(finding), req.headers, max_age, awaiting))
        return finding

    def _preflight_verdicts(self, req: PreflightRequest, status: int | None,
                            headers: dict[str, str]) -> _PreflightVerdicts:
        """check_preflight's verdicts, looked up when these inputs were seen before (an
        app repeats the same preflight whenever the browser's preflight cache expires)."""
        if not self.memo:
            return _PreflightVerdicts(req, status, headers)
        key = (req, status, *[headers.get(name) for name in _PREFLIGHT_READS])
        v = self._verdicts.get(key)
        if v is None:
            v = _PreflightVerdicts(req, status, headers)
            _keep(self._verdicts, key, v, self.memo)
        return v

    def _preflight_hint(self, v: _PreflightVerdicts, finding: Finding,
                        ex: Exchange) -> dict[str, Any]:
        """The if-credentialed hint of a preflight: fixed by the verdicts' inputs (the
        origin, method and status among them), so rendered once per verdicts."""
        if v.hint is None:
            assert v.fail_incl is not None
            v.hint = self._hint(v.fail_incl, finding, ex)
        return {**v.hint, "fix_headers": list(v.hint["fix_headers"])}

    def _settle_followed(self, aw: _Awaiting, actual: str) -> Finding:
        """The actual request arrived: the browser accepted the preflight, so the page
        did not ask for credentials."""
        f = aw.finding
        f.rendered = None  # changed: rendered afresh
        f.related.pop("awaiting_actual", None)
        f.related["actual_followed"] = True
        f.related["actual"] = actual
        f.credentials_mode = "omit-or-same-origin"
        return f

    def _settle_unfollowed(self, aw: _Awaiting) -> Finding:
        """No actual request followed a preflight that fails only for credentialed
        requests: the page asked for credentials and the browser stopped there."""
        f, fail = aw.finding, aw.fail_include
        f.rendered = None  # changed: rendered afresh
        f.related.pop("awaiting_actual", None)
        f.related["actual_followed"] = False
        f.credentials = ["inferred: no actual request followed this preflight"]
        f.credentials_mode = "include"
        f.if_credentialed = None
        f.verdict = "hidden"
        f.reason = fail.reason
        f.failed_parameter = fail.parameter
        f.fields = {**fail.fields, **_not_sent(f.method)}
        f.confidence = "inferred"
        return f

    def _actual(self, ex: Exchange) -> Finding:
        rq = ex.req_index
        rs = ex.resp_index
        origin = rq.get("origin") or ""
        url = _strip_fragment(ex.url)
        hop = self._hops.pop((url, ex.method), None) if self._hops else None
        if hop is not None and hop.next_origin != origin:
            hop = None
        evidence = (self._evidence(ex, origin, url)
                    if "cookie" in rq or "authorization" in rq else [])
        include = bool(evidence)
        if hop is not None and hop.include:
            include = True
            if not evidence:
                evidence = [f"carried from hop 1 of the redirect chain ({'; '.join(hop.evidence)})"]
        location = rs.get("location")
        role = "redirect" if location is not None and is_redirect(ex.status, location) else "actual"
        checks: list[dict[str, Any]] = []
        acao = rs.get("access-control-allow-origin")
        acac = rs.get("access-control-allow-credentials")
        failure = check_access(acao, acac, origin, include, checks)
        finding = Finding(  # positional: the fields' order (faster than keywords)
            "exposed", role, origin, redact_url(ex.url), ex.method, evidence,
            "include" if include else "omit-or-same-origin", checks=checks,
        )
        if len(evidence) == 1 and evidence[0].startswith("authorization"):
            finding.confidence = "inferred"
        pf = self._preflights.get((origin, url, ex.method)) if self._preflights else None
        if pf is not None:
            finding.related["preflight"] = pf[0]
        hop_index = hop.hop if hop is not None else 1
        if hop is not None:
            finding.related["hop"] = hop.hop
            finding.related["first_url"] = hop.first_url
        if role == "redirect" and failure is None and location is not None:
            failure = check_redirect_location(location)
        if failure is not None:
            self._fail(finding, failure, ex)
            if hop_index > 1 or role == "redirect":
                finding.related["chain"] = (
                    f"hop {hop_index} of {hop_index}: the browser stops here"
                    + ("; the redirect is not followed" if role == "redirect" else "")
                )
        elif not include:
            fail_incl = check_access(acao, acac, origin, True)
            if fail_incl is not None:
                finding.if_credentialed = self._hint(fail_incl, finding, ex)
        if failure is None and "access-control-expose-headers" in rs:
            finding.hidden_headers = hidden_response_headers(rs, include)
        if role == "redirect" and failure is None and location is not None:
            self._expect_hop(ex, origin, location, include, evidence, hop, hop_index)
        return finding

    def _expect_hop(self, ex: Exchange, origin: str, location: str, include: bool,
                    evidence: list[str], prev: _Hop | None, hop_index: int) -> None:
        nxt = _strip_fragment(urljoin(ex.url, location))
        current = origin_of(ex.url)
        tainted = origin == "null" or (
            origin_of(nxt) != current and origin != current
        )
        method = ex.method
        if ex.status in (301, 302) and method == "POST":
            method = "GET"
        elif ex.status == 303 and method != "HEAD":
            method = "GET"
        self._hops.put((nxt, method), _Hop(
            ex.timestamp,
            prev.first_url if prev else redact_url(ex.url),
            "null" if tainted else origin,
            include, evidence, hop_index + 1,
        ))

    def _evidence(self, ex: Exchange, origin: str, url: str) -> list[str]:
        evidence = []
        rq = ex.req_index
        if "cookie" in rq:  # names per line, not from the joined value
            names = cookie_names([v for n, v in ex.request_headers if n == "cookie"])
            evidence.append("cookie " + ", ".join(names) if names else "cookie")
        auth = rq.get("authorization")
        if auth is not None:
            pf = self._preflights.get((origin, url, ex.method))
            if pf is not None:
                _, ts, expires, requested = pf
                announced = ("authorization" in requested
                             and ex.timestamp <= max(expires, ts + self.preflight_wait))
            else:
                announced = False
            if not announced:
                evidence.append(
                    f"authorization ({_auth_scheme(auth)}, not announced by a preflight: "
                    "the browser's HTTP-auth cache)"
                )
        return evidence

    def _fail(self, finding: Finding, failure: Failure, ex: Exchange,
              not_sent: bool = False) -> None:
        finding.verdict = "hidden"
        finding.reason = failure.reason
        finding.failed_parameter = failure.parameter
        fields = dict(failure.fields)
        if "location" in fields:
            fields["location"] = redact_url(fields["location"])
        elif failure.reason == "RedirectContainsCredentials":
            fields["location"] = redact_url(ex.resp("location") or "")
        fields["status"] = str(ex.status)
        fields["path"] = "/" + finding.url.split("://", 1)[-1].partition("/")[2]
        if failure.reason == "MissingAllowOriginHeader" and ex.status and ex.status >= 400:
            fields["status_note"] = f" (status {ex.status}; often an error page without CORS)"
        if finding.credentials_mode == "include":
            fields["creds_fix"] = ' and "Access-Control-Allow-Credentials: true"'
            fields["acac_line"] = "Access-Control-Allow-Credentials: true"
        if failure.reason == "RedirectContainsCredentials":
            fields["location_clean"] = strip_userinfo(ex.resp("location") or "")
        if not_sent:
            fields.update(_not_sent(finding.method))
        finding.fields = fields

    def _hint(self, failure: Failure, finding: Finding, ex: Exchange) -> dict[str, Any]:
        """What would fail if this request were sent with credentials."""
        fields = {
            **failure.fields, "status": str(ex.status),
            "creds_fix": ' and "Access-Control-Allow-Credentials: true"',
            "acac_line": "Access-Control-Allow-Credentials: true",
        }
        texts = render_texts(failure.reason, finding.origin, failure.parameter,
                             "credentials: 'include'", finding.method,
                             tuple(sorted(fields.items())))
        return {
            "reason": failure.reason,
            "failed_parameter": failure.parameter,
            "explanation": texts.explanation,
            "fix": texts.fix,
            "fix_headers": list(texts.fix_headers),
        }


_AUTH_SCHEMES = {s.lower(): s for s in (
    "Basic", "Bearer", "Digest", "Negotiate", "NTLM", "HOBA", "Mutual", "DPoP", "Token",
    "AWS4-HMAC-SHA256", "SCRAM-SHA-256", "VAPID",
)}


def _auth_scheme(value: str) -> str:
    """The scheme of an Authorization value, named only when it is a well-known one:
    never any part of the credentials."""
    word, sep, _ = value.strip().partition(" ")
    known = _AUTH_SCHEMES.get(word.lower()) if sep else None
    return f"{known} scheme" if known else "unrecognised scheme"


def _not_sent(method: str) -> dict[str, str]:
    return {"not_sent": f"; the browser will not send the {method}"}
