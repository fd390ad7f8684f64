"""The analyzer: feeds each exchange through the judgements (``checks``) and the
correlation state (``state``) and returns findings. Sans-IO: it is given Exchanges and
clock readings, and returns ``Update``s for the caller to render.

- ``request(ex)``: a request was seen (its response may follow); returns updates for
  earlier flows it settles (a pending preflight whose actual request arrived).
- ``response(ex, handle)``: the exchange is complete; returns updates, the first for
  this exchange when it is a CORS exchange.
- ``expire(now)``: settle pending preflights whose actual request did not follow
  within ``preflight_wait`` seconds (flow time or wall time, caller's choice).
- ``flush()``: settle everything pending (end of a capture).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urljoin

from .checks import (
    Failure,
    PreflightRequest,
    check_redirect_location,
    hidden_response_headers,
    is_redirect,
    judge_access,
    judge_preflight,
    parse_preflight_request,
)
from .cookies import (
    BLOCK, CHROMIUM, FETCH, FORM, IFRAME, INFER, NAVIGATION, PARTITION, POLICIES, Cookies,
    CookieNote, context as cookie_context, deletes, note, refusal, registrable, split_url,
    stored, withholding)
from .engines import Browser, Engine, EngineNote, classify as classify_client
from .http import Req, Resp, origin_of, redact_url, strip_fragment, strip_userinfo, \
    without_query
from .model import EXPOSED, HIDDEN, INCLUDE, OMIT, Exchange, Finding, Update
from .reasons import CookieReason as CR, CorsError as E
from .remedy import MAYBE, YES, Chain, Remedy, for_preflight, for_response, \
    next_method, only_with_credentials, recognise, tainted, worth_naming
from .security import Answer, Probe, SecurityFinding, conclude, passive, plan, \
    reflected, seen_origins
from .state import ORIGINS_KEPT, PREFLIGHT_CACHE_CAP, Hop, Pending, Preflight, ProbeRun, \
    Seen, State

CORS = "cors"
PREFLIGHT = "preflight"
PREFLIGHT_CACHE_DEFAULT = 5.0  # seconds, when Access-Control-Max-Age is absent
_NAVIGATION_DESTS = frozenset(("document", "iframe", "frame", "embed", "object"))
_FRAME_DESTS = frozenset(("iframe", "frame", "embed", "object"))


def classify(ex: Exchange) -> str | None:
    """``"preflight"``, ``"cors"`` or ``None`` (not a CORS exchange: same-origin,
    navigation, no-cors, websocket, CONNECT, no Origin)."""
    if ex.websocket or ex.method == "CONNECT":
        return None
    origin = ex.request.get(Req.ORIGIN)
    if origin is None:
        return None
    mode = ex.request.get(Req.SEC_FETCH_MODE)
    if mode is not None and mode.lower() != "cors":
        return None
    target = origin_of(ex.url)
    if target is None or origin == target:
        return None
    if mode is None and _looks_like_navigation(ex):
        return None
    if ex.method == "OPTIONS" and Req.ACRM in ex.request:
        return PREFLIGHT
    return CORS


def _looks_like_navigation(ex: Exchange) -> bool:
    if (ex.request.get(Req.SEC_FETCH_DEST) or "").lower() in _NAVIGATION_DESTS:
        return True
    if "websocket" in (ex.request.get(Req.UPGRADE) or "").lower():
        return True
    if ex.request.get(Req.UPGRADE_INSECURE_REQUESTS) is not None:
        return True
    return (ex.request.get(Req.ACCEPT) or "").lower().startswith("text/html")


def _max_age(value: str | None) -> float:
    if value is None:
        return PREFLIGHT_CACHE_DEFAULT
    try:
        n = int(value.strip())
    except ValueError:
        return PREFLIGHT_CACHE_DEFAULT
    return float(min(max(n, 0), PREFLIGHT_CACHE_CAP))


def _not_sent(method: str) -> tuple[tuple[str, str], ...]:
    return (("not_sent", f"; the browser will not send the {method}"),)


_CREDS_FIX = (("creds_fix", ' and "Access-Control-Allow-Credentials: true"'),
              ("acac_line", "Access-Control-Allow-Credentials: true"))


@lru_cache(maxsize=1024)
def judge_actual(origin: str, url: str, method: str, status: int, location: str | None,
                 acao: str | None, acac: str | None, aceh: str | None, names: tuple[str, ...],
                 evidence: tuple[str, ...], include: bool, hop: int, chain: Chain | None,
                 vary: str | None = None, server: str | None = None,
                 powered_by: str | None = None, browser: Browser | None = None,
                 acao_lines: int = 1) -> Finding:
    """The finding on an actual response or a redirect hop (``url`` redacted), from
    everything it depends on but its link to a preflight: CheckAccess, then for a redirect
    the Location's userinfo; without credentials, what would fail with them; the headers
    JavaScript cannot read; and the remedy when something is hidden. A pure function,
    memoized: an app calls the same endpoints over and over."""
    role = "redirect" if is_redirect(status, location) else "actual"
    access = judge_access(acao, acac, origin, include)
    failure = access.failure
    if failure is None and role == "redirect" and location is not None:
        failure = check_redirect_location(location)
    related: list[tuple[str, object]] = []
    if chain is not None:
        related += [("hop", hop), ("first_url", chain.hops[0][1])]
    if failure is not None and (hop > 1 or role == "redirect"):
        related.append(("chain", f"hop {hop} of {hop}: the browser stops here"
                        + ("; the redirect is not followed" if role == "redirect" else "")))
    hint = None
    hidden = noted = ()
    if failure is None:
        if not include:
            hint = judge_access(acao, acac, origin, True).failure
        hidden = hidden_response_headers(aceh, names, include)
        noted = tuple(n for n in hidden if worth_naming(n, aceh))
    remedy = None
    if failure is not None or noted or hint is not None:
        remedy = for_response(role, origin, url, method, status, location, acao, acac, vary,
                              aceh, names, YES if include else MAYBE, chain,
                              recognise(server, powered_by, None))
    f = Finding(verdict=EXPOSED, role=role, origin=origin, url=url, method=method,
                credentials=evidence, credentials_mode=INCLUDE if include else OMIT,
                checks=access.checks, related=tuple(related), hidden_headers=hidden,
                noted_headers=noted, remedy=remedy,
                confidence=("inferred" if len(evidence) == 1
                            and evidence[0].startswith("authorization") else "certain"),
                if_credentialed=_hint(hint, status) if hint is not None else None,
                browser=browser)
    return _failed(f, failure, status, location, lines=acao_lines) if failure is not None else f


def _failed(f: Finding, failure: Failure, status: int, location: str | None,
            not_sent: bool = False, lines: int = 1) -> Finding:
    """The finding hidden by this failure, with the fields its texts are filled with
    (``lines``: how many Access-Control-Allow-Origin lines the response had)."""
    fields = dict(failure.fields)
    if lines > 1:
        fields["acao_lines"] = str(lines)
    location = location or ""
    if "location" in fields:
        fields["location"] = redact_url(fields["location"])
    elif failure.reason == E.RedirectContainsCredentials:
        fields["location"] = redact_url(location)
    fields["status"] = str(status)
    fields["path"] = "/" + f.url.split("://", 1)[-1].partition("/")[2]
    if failure.reason == E.MissingAllowOriginHeader and status and status >= 400:
        fields["status_note"] = f" (status {status}; often an error page without CORS)"
    if f.credentials_mode == INCLUDE:
        fields.update(_CREDS_FIX)
    if failure.reason == E.RedirectContainsCredentials:
        fields["location_clean"] = strip_userinfo(location)
    if not_sent:
        fields.update(_not_sent(f.method))
    if f.role == "redirect" and location:
        fields["next_url"] = redact_url(urljoin(f.url, location))
    return f._replace(verdict=HIDDEN, reason=failure.reason, failed_parameter=failure.parameter,
                      fields=tuple(fields.items()))


@lru_cache(maxsize=1024)
def judge_preflight_response(req: PreflightRequest, url: str, values: tuple, vary: str | None,
                             server: str | None, powered_by: str | None, body: str | None,
                             hop: Hop | None, notes: tuple[EngineNote, ...], browser: Browser,
                             acao_lines: int = 1
                             ) -> tuple[Finding, Failure | None, Remedy | None]:
    """The finding on a preflight response (``url`` redacted; ``values``: status,
    Location, ACAO, ACAC, ACAM, ACAH, ACAPN; ``hop``: the redirect chain it continues,
    whose credentials mode is known), from everything it depends on: judged without and
    with credentials. When it fails only with credentials the finding is open (the
    actual request tells) and the failure and remedy it settles with come beside it,
    else None. A pure function, memoized: a page sends the same preflights over and over."""
    status, location = values[0], values[1]
    omit = judge_preflight(req, *values, False)
    incl = judge_preflight(req, *values, True)
    fail_omit, fail_incl = omit.failure, incl.failure

    def remedy(creds: str) -> Remedy | None:
        return for_preflight(req.origin, req.method, req.headers, url, status, location,
                             values[2], values[3], values[4], values[5], vary, creds,
                             hop.chain if hop else None,
                             recognise(server, powered_by, body), body)

    f = Finding(verdict=EXPOSED, role="preflight", origin=req.origin, url=url,
                method=req.method, warnings=omit.warnings, checks=omit.checks,
                related=(("actual_method", req.method), ("requested_headers", req.headers)),
                browser=browser, engine_notes=notes)
    if hop is not None:  # a hop in a redirect chain: its credentials mode is known
        f = f._replace(related=(*f.related, ("hop", hop.hop)), credentials=hop.evidence,
                       credentials_mode=INCLUDE if hop.include else OMIT,
                       checks=incl.checks if hop.include else omit.checks)
        failure = fail_incl if hop.include else fail_omit
        if failure is not None:
            f = _failed(f, failure, status, location, not_sent=True, lines=acao_lines)
            f = f._replace(remedy=remedy(YES if hop.include else MAYBE))
    elif fail_omit is not None:
        f = _failed(f, fail_omit, status, location, not_sent=True, lines=acao_lines)
        f = f._replace(remedy=remedy(MAYBE))
        if fail_incl is not None and fail_incl.reason != fail_omit.reason:
            f = f._replace(if_credentialed=_hint(fail_incl, status))
    elif fail_incl is not None:
        # Passes unless the page asked for credentials: the actual request tells.
        f = f._replace(if_credentialed=_hint(fail_incl, status), open=True,
                       related=(*f.related, ("awaiting_actual", True)),
                       remedy=only_with_credentials(remedy(MAYBE)))
        return (f, fail_incl._replace(fields=(*fail_incl.fields, ("status", str(status)))),
                remedy(YES))
    return f, None, None


def _settled(f: Finding, related: tuple[tuple[str, object], ...], **changes) -> Finding:
    """A pending preflight's finding, settled: no longer open, ``related`` said."""
    kept = tuple(kv for kv in f.related if kv[0] != "awaiting_actual")
    return f._replace(open=False, related=(*kept, *related), **changes)


def _hint(failure: Failure, status: int | None) -> Failure:
    """What would fail if this request were sent with credentials."""
    return failure._replace(fields=(*failure.fields, ("status", str(status)), *_CREDS_FIX))


class Analyzer:
    """Feed it exchanges in arrival order; it returns findings (module docstring)."""

    def __init__(self, *, max_entries: int = 4096, max_age: float = PREFLIGHT_CACHE_CAP,
                 preflight_wait: float = 3.0, cookies: bool = True) -> None:
        self.preflight_wait = preflight_wait
        self.cookies = cookies  # judge cookies too (the ledger)
        self.max_entries = max_entries
        self.state = State(max_entries, preflight_wait, max_age)

    def waiting(self) -> bool:
        """Whether a preflight awaits its actual request (only then do requests matter)."""
        return self.state.waiting()

    def awaits(self, method: str, path: str | None = None) -> bool:
        """Whether a preflight awaits a request of this method (and, given, this URL
        path, without the query): only such a request can settle one (``request``); for
        the others ``expire`` is all there is to do."""
        return self.state.awaits(method, path)

    def is_open(self, key: str) -> bool:
        """Whether this flow's verdict may still change: a pending preflight, or a flow
        whose endpoint's probe answers are still coming."""
        return self.state.is_pending(key) or key in self.state.probes

    # -- inputs
    def request(self, ex: Exchange) -> list[Update]:
        updates = self.expire(ex.timestamp)
        if classify(ex) != CORS:
            return updates
        st = self.state
        origin = ex.request.get(Req.ORIGIN) or ""
        pf = st.preflights.get((origin, strip_fragment(ex.url), ex.method))
        aw = st.settle(pf.key) if pf is not None else None
        if aw is not None:  # the browser accepted the preflight: no credentials asked for
            updates.append(Update(aw.key, _settled(aw.finding, (("actual_followed", True),
                                                                ("actual", ex.key)),
                                                   credentials_mode=OMIT, remedy=None),
                                  aw.handle, aw.cookies, timestamp=aw.timestamp))
        return updates

    def response(self, ex: Exchange, handle: object = None) -> list[Update]:
        self.state.tick(ex.timestamp)
        if ex.status is None or ex.response is None:
            return []
        kind = classify(ex)
        st = self.state
        if ex.cookies is not None or ex.set_cookies:
            st.cookie_flows += 1
        elif ex.response.get(Resp.ACAC) == "true":
            st.credentialed_responses += 1
        browser = classify_client(ex.request.get(Req.USER_AGENT))
        cookies = self._cookies(ex, kind, browser) if self.cookies else None
        if kind is None:
            return ([Update(ex.key, None, handle, cookies, timestamp=ex.timestamp)]
                    if cookies is not None else [])
        if kind == PREFLIGHT:
            f = self._preflight(ex, handle, cookies, browser)
            return [Update(ex.key, f, handle, cookies, timestamp=ex.timestamp),
                    *self.expire(ex.timestamp)]
        f = self._actual(ex, browser)
        return [Update(ex.key, f, handle, cookies, self._security(ex), ex.timestamp)]

    def expire(self, now: float) -> list[Update]:
        st = self.state
        out = [self._unfollowed(aw) for aw in st.overdue(now)] if st.due(now) else []
        st.tick(now)
        return out

    def flush(self) -> list[Update]:
        return [self._unfollowed(aw) for aw in self.state.drain()]

    # -- preflights
    def _preflight(self, ex: Exchange, handle: object, cookies: Cookies | None,
                   browser: Browser) -> Finding:
        st, rq, rs = self.state, ex.request, ex.response
        origin = rq.get(Req.ORIGIN) or ""
        req = parse_preflight_request(origin, rq.get(Req.ACRM) or "", rq.get(Req.ACRH),
                                      rq.get(Req.ACRPN))
        url = strip_fragment(ex.url)
        hop = st.hops.get((url, req.method))
        values = (ex.status, rs.get(Resp.LOCATION), rs.get(Resp.ACAO), rs.get(Resp.ACAC),
                  rs.get(Resp.ACAM), rs.get(Resp.ACAH), rs.get(Resp.ACAPN))
        notes = _hop_origin_notes(req, values, hop) if hop is not None else ()
        if hop is not None and origin != hop.next_origin and not (
                hop.next_origin == "null" and hop.chain.taint is not None
                and origin == hop.chain.taint[2]):  # Firefox: the page's origin, not null
            hop = None
        f, fail_later, remedy_later = judge_preflight_response(
            req, redact_url(ex.url), values, rs.get(Resp.VARY), rs.get(Resp.SERVER),
            rs.get(Resp.X_POWERED_BY), ex.body, hop, notes, browser, ex.acao_lines)
        if fail_later is not None:
            st.wait(Pending(ex.key, f, fail_later, handle, remedy_later, cookies, ex.timestamp),
                    ex.timestamp)
        max_age = _max_age(rs.get(Resp.MAX_AGE))
        st.preflights.put((origin, url, req.method),
                          Preflight(ex.key, ex.timestamp, ex.timestamp + max_age, req.headers),
                          ex.timestamp)
        return f

    def _unfollowed(self, aw: Pending) -> Update:
        """No actual request followed a preflight that fails only for credentialed
        requests: the page asked for credentials and the browser stopped there."""
        f, fail = aw.finding, aw.fail_include
        settled = _settled(
            f, (("actual_followed", False),),
            credentials=("inferred: no actual request followed this preflight",),
            credentials_mode=INCLUDE, if_credentialed=None, verdict=HIDDEN,
            reason=fail.reason, failed_parameter=fail.parameter,
            fields=(*fail.fields, *_not_sent(f.method)), confidence="inferred",
            remedy=aw.remedy)
        return Update(aw.key, settled, aw.handle, aw.cookies, timestamp=aw.timestamp)

    # -- actual requests and redirect hops
    def _actual(self, ex: Exchange, browser: Browser) -> Finding:
        st, rs = self.state, ex.response
        origin = ex.request.get(Req.ORIGIN) or ""
        url = strip_fragment(ex.url)
        hop = st.hops.pop((url, ex.method))
        if hop is not None and hop.next_origin != origin:
            hop = None
        pf = st.preflights.get((origin, url, ex.method))
        evidence = self._evidence(ex, pf)
        include = bool(evidence)
        if hop is not None and hop.include:
            include = True
            if not evidence:
                evidence = ("carried from hop 1 of the redirect chain "
                            f"({'; '.join(hop.evidence)})",)
        location = rs.get(Resp.LOCATION)
        hop_index = hop.hop if hop is not None else 1
        f = judge_actual(origin, redact_url(ex.url), ex.method, ex.status, location,
                         rs.get(Resp.ACAO), rs.get(Resp.ACAC), rs.get(Resp.ACEH), ex.response_names,
                         evidence, include, hop_index, hop.chain if hop is not None else None,
                         rs.get(Resp.VARY), rs.get(Resp.SERVER), rs.get(Resp.X_POWERED_BY),
                         browser, ex.acao_lines)
        if f.role == "redirect" and f.verdict == EXPOSED and location is not None:
            self._expect_hop(ex, origin, location, include, evidence, hop, hop_index)
            if pf is not None and "authorization" in pf.requested and \
                    browser.engine != Engine.WEBKIT:
                f = f._replace(engine_notes=_webkit_authorization_note(ex.url, location))
        if pf is not None:
            f = f._replace(related=(("preflight", pf.key), *f.related))
        return f

    def _expect_hop(self, ex: Exchange, origin: str, location: str, include: bool,
                    evidence: tuple[str, ...], prev: Hop | None, hop_index: int) -> None:
        nxt = strip_fragment(urljoin(ex.url, location))
        here = (ex.method, redact_url(ex.url))
        chain = (Chain((*prev.chain.hops, here), prev.chain.taint) if prev is not None
                 else Chain((here,)))
        taints = tainted(origin, ex.url, nxt)
        if taints and chain.taint is None:
            chain = chain._replace(taint=(*here, origin))
        self.state.hops.put((nxt, next_method(ex.method, ex.status)), Hop(
            chain, "null" if taints else origin, include, evidence, hop_index + 1), ex.timestamp)

    def _evidence(self, ex: Exchange, pf: Preflight | None) -> tuple[str, ...]:
        """Why we believe the request carried credentials: cookie names, and an
        Authorization header no preflight announced (the browser's HTTP-auth cache)."""
        evidence = []
        if ex.cookies is not None:
            evidence.append("cookie " + ", ".join(ex.cookies) if ex.cookies else "cookie")
        if ex.authorization is not None:
            announced = (pf is not None and "authorization" in pf.requested
                         and ex.timestamp <= max(pf.expires, pf.ts + self.preflight_wait))
            if not announced:
                evidence.append(f"authorization ({ex.authorization}, not announced by a "
                                "preflight: the browser's HTTP-auth cache)")
        return tuple(evidence)

    # -- security
    def _security(self, ex: Exchange) -> tuple[SecurityFinding, ...]:
        """What this response proves, and what the endpoint's responses so far show."""
        acao = ex.response.get(Resp.ACAO)
        if acao is None:
            return ()
        origin = ex.request.get(Req.ORIGIN) or ""
        acac = ex.response.get(Resp.ACAC)
        out = passive(redact_url(ex.url), origin, acao, acac) if acac == "true" and (
            acao in ("*", "null") or acao.startswith("http:") and ex.url.startswith("https:")) \
            else ()
        if acao != origin:
            return out
        key = without_query(ex.url)  # (the state's key; what is shown is redacted)
        table = self.state.endpoints
        seen = table.get(key) or Seen((), False)
        if origin in seen.origins and (seen.credentialed or acac != "true") or \
                not reflected(origin, acao):
            return out  # nothing new about this endpoint (most flows: an app repeats itself)
        url = redact_url(ex.url)
        if origin not in seen.origins:
            seen = seen._replace(origins=(*seen.origins, origin)[-ORIGINS_KEPT:])
        seen = seen._replace(credentialed=seen.credentialed or acac == "true")
        more = seen_origins(url, seen.origins, seen.credentialed, ex.response.get(Resp.VARY),
                            ex.response.get(Resp.CACHE_CONTROL), seen.said)
        if more:
            seen = seen._replace(said=seen.said | {m.issue for m in more})
        table.put(key, seen, ex.timestamp)
        return out + more

    def probe_plan(self, ex: Exchange, handle: object, force: bool = False) -> tuple[Probe, ...]:
        """The forged origins to send for this flow's endpoint, if it is a credentialed
        CORS endpoint not probed yet (``force``: probed again); the run is then awaited
        (``probe_answer``). Sends nothing: the caller does."""
        if classify(ex) != CORS or ex.status is None:
            return ()
        origin = ex.request.get(Req.ORIGIN) or ""
        credentialed = (ex.cookies is not None or ex.authorization is not None
                        or ex.response.get(Resp.ACAC) == "true")
        url = redact_url(ex.url)
        key = without_query(url)
        st = self.state
        if not credentialed or origin_of(origin) != origin or (key in st.probed and not force):
            return ()
        probes = plan(origin, url)
        if probes:
            st.probed.put(key, True, ex.timestamp)
            st.probes.put(ex.key, ProbeRun(ex.key, handle, origin, url, probes,
                                           (None,) * len(probes), len(probes)), ex.timestamp)
        return probes

    def probe_answer(self, key: str, label: str, answer: Answer | None
                     ) -> tuple[object, tuple[SecurityFinding, ...]] | None:
        """A probe's answer (None: it failed). When the run is complete: its flow's
        handle and the issues the answers prove."""
        run = self.state.probes.get(key)
        if run is None:
            return None
        i = next((i for i, p in enumerate(run.probes) if p.label == label), None)
        if i is None:
            return None
        answers = (*run.answers[:i], answer, *run.answers[i + 1:])
        run = run._replace(answers=answers, pending=run.pending - 1)
        if run.pending > 0:
            self.state.probes.replace(key, run)
            return None
        self.state.probes.pop(key)
        return run.handle, conclude(run.page, run.url, run.probes, run.answers)

    def probe_expire(self, now: float) -> list[tuple[object, tuple[SecurityFinding, ...]]]:
        """Probe runs whose answers did not all come in time, concluded with those that did."""
        return [(r.handle, conclude(r.page, r.url, r.probes, r.answers))
                for r in self.state.probes.expire(now)]

    # -- cookies
    def sanitized(self) -> str | None:
        """One line when the run's traffic looks credentialed but carries no cookie at all
        (DevTools exports HARs without them by default)."""
        st = self.state
        if st.cookie_flows or not st.credentialed_responses:
            return None
        return (f"{st.credentialed_responses} responses allow credentials, but no flow carries "
                "a Cookie or Set-Cookie header: a sanitized capture? (DevTools exports HARs "
                "without cookies unless you choose 'Export HAR (with sensitive data)'); "
                "cookie findings need them")

    def knows_cookies(self) -> bool:
        """Whether any client's cookies are known: then every flow matters (a request
        without a Cookie header may lack one the browser had)."""
        return self.cookies and len(self.state.jars) > 0

    def _cookies(self, ex: Exchange, kind: str | None, browser: Browser) -> Cookies | None:
        """What the browser did with this flow's cookies: the Set-Cookie lines it refused
        and the stored cookies it did not send, judged against the client's ledger,
        which the response's Set-Cookie lines then update."""
        jars = self.state.jars
        jar = jars.get(ex.client, ex.timestamp) if ex.set_cookies else jars.peek(ex.client)
        if jar is None:
            return None  # no cookie of this client seen set: nothing to compare with
        scheme, host, path = split_url(ex.url)
        if scheme not in ("http", "https") or ex.websocket or ex.method == "CONNECT":
            return None
        where = registrable(host) or host
        now = ex.timestamp
        candidates = jar.cookies(where, now)
        if not candidates and not ex.set_cookies:
            return None  # nothing known of this site, nothing set: nothing to say
        rkind = _request_kind(ex)
        origin = ex.request.get(Req.ORIGIN)
        ctx = cookie_context(scheme, host, path, rkind, origin, ex.request.get(Req.REFERER),
                             ex.request.get(Req.SEC_FETCH_SITE))
        sent = frozenset(ex.cookies or ())
        policy = POLICIES.get(browser.engine, CHROMIUM)
        if policy.third_party == INFER and ctx.third_party and not jar.third_party_allowed and any(
                c.name in sent and c.partition is None and not withholding(c, ctx, False, now)
                for c in candidates):
            jar.third_party_allowed = True  # rule 16: it sent an unpartitioned cross-site cookie
        blocked = policy.third_party == BLOCK or (policy.third_party == INFER
                                                  and not jar.third_party_allowed)
        preflight = kind == PREFLIGHT
        if preflight:
            mode = NO  # a preflight never carries cookies
        elif sent or rkind != FETCH:
            mode = YES  # cookies went, or a navigation (always credentialed)
        elif origin is not None and origin != origin_of(ex.url):
            mode = MAYBE  # cross-origin with nothing sent: include or omit, the wire can't tell
        else:
            mode = SAME  # same-origin: credentials unless the page said 'omit'
        missing: list[tuple] = []
        if not preflight:
            for c in candidates:
                if c.name in sent:
                    if c.unsure:
                        jar.replace(where, c._replace(unsure=False))
                    continue
                reasons = withholding(c, ctx, blocked, now, policy)
                if reasons:
                    missing.append((c, reasons))
                elif mode in (MAYBE, SAME) and not c.unsure:
                    mode = NO  # a cookie it would have sent is missing: no credentials asked
        if mode == SAME:
            mode = YES
        withheld = [] if mode == NO else [
            note(c.name, reasons, ctx, refused=False, domain=c.domain, cookie_path=c.path,
                 partition=c.partition,
                 when=None if mode == YES and not c.unsure else CREDENTIALED)
            for c, reasons in missing]
        rejected: list[CookieNote] = []
        for sc in ex.set_cookies:
            if preflight:
                rejected.append(note(sc.name, (CR.PreflightResponse,), ctx, refused=True))
                continue
            if mode == NO:
                rejected.append(note(sc.name, (CR.NotCredentialed,), ctx, refused=True))
                continue
            overwrites = any(c.secure and c.name == sc.name for c in candidates)
            reasons = refusal(sc, ctx, blocked, overwrites, policy)
            if reasons:  # (without credentials the browser ignores the line: no refusal)
                rejected.append(note(sc.name, reasons, ctx, refused=True, domain=sc.domain,
                                     size=sc.size, when=CREDENTIALED if mode == MAYBE else None))
                continue
            new = stored(sc, ctx, now, unsure=mode == MAYBE, policy=policy)
            if deletes(sc, now):
                jar.delete(where, new.key)
                continue
            jar.put(where, new, now)
            if mode == MAYBE:
                rejected.append(note(sc.name, (CR.NotCredentialed,), ctx, refused=True,
                                     when=UNCREDENTIALED))
        if not withheld and not rejected:
            return None
        return Cookies(redact_url(ex.url), ex.method, tuple(rejected), tuple(withheld),
                       _THIRD_PARTY[policy.third_party] if policy.third_party != INFER else
                       "allowed (this client sent a third-party cookie)" if not blocked else
                       "blocked (assumed, Chromium's default: no third-party cookie seen "
                       "sent by this client)",
                       _lead(ex, kind, withheld, rejected, mode), policy.rules)


_THIRD_PARTY = {PARTITION: "partitioned (Firefox's Total Cookie Protection)",
                BLOCK: "blocked (WebKit: Safari and ITP block every third-party cookie)"}
CREDENTIALED = "credentialed"  # the note holds only if the page sent credentials
UNCREDENTIALED = "uncredentialed"  # … only if it did not
NO, SAME = "no", "same"  # a request's credentials, for cookies: YES, MAYBE (remedy's), NO
_SEND_REASONS = frozenset((CR.SchemefulSameSiteLax, CR.SchemefulSameSiteStrict,
                           CR.SchemefulSameSiteUnspecifiedTreatedAsLax, CR.UserPreferences,
                           CR.SecureOnly, CR.OtherPartition))


def _request_kind(ex: Exchange) -> str:
    mode = (ex.request.get(Req.SEC_FETCH_MODE) or "").lower()
    if mode == "navigate" or (not mode and _looks_like_navigation(ex)):
        if (ex.request.get(Req.SEC_FETCH_DEST) or "").lower() in _FRAME_DESTS:
            return IFRAME
        return NAVIGATION if ex.method in ("GET", "HEAD") else FORM
    return FETCH


def _lead(ex: Exchange, kind: str | None, withheld: list[CookieNote],
          rejected: list[CookieNote], mode: str) -> str | None:
    """The cookie failure to say before any CORS reason: a cookie not sent on a request
    answered 401/403 or redirected to another origin (a login page), or a cookie refused
    on a credentialed CORS response."""
    status = ex.status or 0
    location = ex.response.get(Resp.LOCATION)
    away = (300 <= status < 400 and location is not None
            and origin_of(urljoin(ex.url, location)) not in (None, origin_of(ex.url)))
    if status in (401, 403) or away:
        why = [n for n in withheld if set(n.reasons) & _SEND_REASONS] or withheld
        if why:
            n = why[0]
            cond = "if the page sent credentials, " if n.when else ""
            return f"{cond}the browser did not send cookie {n.name}: {n.detail} — fix: {n.fix}"
    if kind == CORS and mode == YES:
        for n in rejected:
            if n.when is None and n.reasons[0] not in (CR.PreflightResponse, CR.NotCredentialed):
                return f"the browser refused cookie {n.name}: {n.detail} — fix: {n.fix}"
    return None


def _hop_origin_notes(req, values: tuple, hop: Hop) -> tuple[EngineNote, ...]:
    """A redirected request's next preflight, after a redirect that tainted its origin:
    Chromium and WebKit send it with ``Origin: null``, Firefox with the page's origin
    (engines-observed). Judged the other way too; a note where the verdict differs."""
    if hop.next_origin != "null" or hop.chain.taint is None:
        return ()
    page = hop.chain.taint[2]
    if req.origin == "null":
        other, engines, sends = page, (Engine.FIREFOX,), f"the page's origin {page}"
    elif req.origin == page:
        other, engines, sends = "null", (Engine.CHROMIUM, Engine.WEBKIT), "Origin: null"
    else:
        return ()
    here = judge_preflight(req, *values, hop.include).failure
    there = judge_preflight(req._replace(origin=other), *values, hop.include).failure
    if (here is None) == (there is None):
        return ()
    who = " and ".join(e.value.capitalize() if e != Engine.WEBKIT else "WebKit" for e in engines)
    outcome = f"fails there ({there.reason})" if there is not None else "passes there"
    verb = "sends" if len(engines) == 1 else "send"
    return (EngineNote(engines, f"{who} {verb} this redirected request's preflight with {sends} "
                                f"(the client sent Origin: {req.origin}); the same answer "
                                f"{outcome}"),)


def _webkit_authorization_note(url: str, location: str) -> tuple[EngineNote, ...]:
    """A request with Authorization redirected to another origin: every engine drops the
    header, but WebKit still preflights the next URL asking for it (engines-observed)."""
    nxt = urljoin(url, location)
    if origin_of(nxt) in (None, origin_of(url)):
        return ()
    return (EngineNote((Engine.WEBKIT,), (
        "WebKit (Safari, every iOS browser) drops Authorization on this cross-origin redirect "
        f"but still preflights {redact_url(nxt)} asking for authorization, with Origin: null "
        "(Chromium and Firefox send no preflight): that OPTIONS must allow it "
        '("Access-Control-Allow-Headers: authorization") or Safari hides the response'),),)
