"""The one rendering of a finding: ``render`` makes the plain dict (JSON-like: lists,
dicts, str, numbers) that goes into ``flow.metadata["cors_creds"]``, and every other
output is made from that dict: the comment (in it), the log line (``log_line``), the
reports (``report.py``) and the full explanation of the contentview and ``cors.explain``
(``explain``), so that flows read back from a file explain themselves too."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from .checks import Failure
from .cookies import PSL_SOURCE, CookieNote, Cookies
from .engines import Browser, Engine, classify, words
from .http import printable
from .model import HIDDEN, Finding
from .remedy import Remedy, Step
from .security import SEVERITY_ORDER, SecurityFinding
from .reasons import REASONS, CorsError, render as fill

MAX_VALUE = 2048  # longest header value kept in metadata
KEY = "cors_creds"  # the flow.metadata key


class Texts(NamedTuple):
    explanation: str
    fix: str
    fix_headers: tuple[str, ...]
    console: str


@lru_cache(maxsize=1024)
def texts(reason: CorsError, origin: str, value: str | None, evidence: str, method: str,
          fields: tuple[tuple[str, str], ...]) -> Texts:
    """A reason's templates filled with one flow's values (each made printable)."""
    values: dict[str, object] = {"origin": origin, "value": value, "evidence": evidence,
                                 "method": method, **dict(fields)}
    safe = {k: printable(v) if isinstance(v, str) else v for k, v in values.items()}
    r = REASONS[reason]
    headers = tuple(h for h in (fill(t, safe) for t in r.headers) if h.strip())
    return Texts(fill(r.explain, safe), fill(r.fix, safe), headers, fill(r.console, safe))


def _texts(f: Finding, fields: tuple[tuple[str, str], ...]) -> Texts | None:
    if f.reason is None:
        return None
    return texts(f.reason, f.origin, f.failed_parameter,
                 ", ".join(f.credentials) or "credentials: include", f.method, fields)


def _message(url: str, origin: str, console: str) -> str:
    """Chromium's console message."""
    return (f"Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS "
            f"policy: {console}")


def _hint(f: Finding, hint: Failure, browser: Browser) -> dict[str, Any]:
    t = texts(hint.reason, f.origin, hint.parameter, "credentials: 'include'", f.method,
              tuple(sorted(hint.fields)))
    w = words(browser.engine, hint.reason, f.role, f.url, f.origin, hint.parameter,
              tuple(sorted(hint.fields)))
    return {"reason": str(hint.reason), "failed_parameter": hint.parameter,
            "explanation": t.explanation, "fix": t.fix, "fix_headers": list(t.fix_headers),
            "browser": {"reason": w.reason, "message": w.message}}


_NO_UA = classify(None)
ENGINE_LABEL = {Engine.CHROMIUM: "Chromium", Engine.FIREFOX: "Firefox",
                Engine.WEBKIT: "WebKit", Engine.UNKNOWN: "an unknown client"}


def _browser(f: Finding, fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The client's engine and, for a hidden response, that engine's own reason name
    and console text (engines.words)."""
    b = f.browser or _NO_UA
    out: dict[str, Any] = {"engine": str(b.engine), "name": b.name, "reason": None,
                           "message": None}
    if f.reason is not None and f.verdict == HIDDEN:
        w = words(b.engine, f.reason, f.role, f.url, f.origin, f.failed_parameter, fields)
        out["reason"], out["message"] = w.reason, w.message
        if w.note:
            out["note"] = w.note
    return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def render(f: Finding | None, marker: str = "", cookies: Cookies | None = None,
           security: tuple[SecurityFinding, ...] = ()) -> dict[str, Any]:
    """The findings as written onto their flow: the CORS finding (None: not a CORS
    flow), the cookie findings and the security findings; ``marker``: the flow's marker
    when hidden.

    Shared, so read-only: the flows of a repeated call (the same findings) get the same
    dict, made once (``_rendered``), and a caller that wants to change it changes a copy.
    Only the ids of the flows a finding links to differ from flow to flow: a flow with
    links gets a dict of its own, the shared one with its own ``related``."""
    shared = _unlinked(f) if f is not None else f
    meta = _rendered(shared, marker, cookies, security)
    if shared is not f:
        return {**meta, "related": {k: _plain(v) for k, v in f.related}}
    return meta


@lru_cache(maxsize=1024)
def _rendered(f: Finding | None, marker: str, cookies: Cookies | None,
              security: tuple[SecurityFinding, ...]) -> dict[str, Any]:
    meta = _render(f, marker, cookies)
    return with_security(meta, security) if security else meta


def security_meta(s: SecurityFinding) -> dict[str, Any]:
    return {"issue": str(s.issue), "severity": s.severity, "detail": s.detail,
            "attack": s.attack, "fix": s.fix, "evidence": dict(s.evidence),
            "confidence": s.confidence}


_SECURITY_PART = "CORS security ("


def with_security(meta: dict[str, Any], security: tuple[SecurityFinding, ...]) -> dict[str, Any]:
    """The metadata with these security findings added (one per issue, the worst first)
    and the comment saying the high and medium ones briefly: a new dict."""
    known = {s["issue"]: s for s in meta.get("security") or ()}
    for s in security:
        known[str(s.issue)] = security_meta(s)
    found = sorted(known.values(), key=lambda s: (SEVERITY_ORDER[s["severity"]], s["issue"]))
    parts = [p for p in (meta.get("comment") or "").split(" | ")
             if p and not p.startswith(_SECURITY_PART)]
    parts += [f"{_SECURITY_PART}{s['severity']}): {s['issue']} — fix: {s['fix']}"
              for s in found if s["severity"] != "low"]
    return {**meta, "security": found, "comment": " | ".join(parts)}


def _render(f: Finding | None, marker: str, cookies: Cookies | None) -> dict[str, Any]:
    cookie_meta = _cookies(cookies) if cookies is not None else None
    if f is None:
        assert cookies is not None
        return {"verdict": None, "reason": None, "role": None, "origin": None,
                "url": cookies.url, "method": cookies.method, "cookies": cookie_meta,
                "comment": _cookie_comment(cookies), "marked": ""}
    fields = tuple(sorted(f.fields)) if f.fields else ()
    t = _texts(f, fields)
    related = {k: _plain(v) for k, v in f.related}
    remedy = _remedy(f.remedy)
    browser = _browser(f, fields)
    notes = [{"engines": [str(e) for e in n.engines], "note": n.text} for n in f.engine_notes]
    meta = {
        "verdict": f.verdict,
        "reason": str(f.reason) if f.reason is not None else None,
        "role": f.role,
        "origin": f.origin,
        "url": f.url,
        "method": f.method,
        "credentials": list(f.credentials),
        "credentials_mode": f.credentials_mode,
        "failed_parameter": (f.failed_parameter[:MAX_VALUE]
                             if f.failed_parameter is not None else None),
        "message": _message(f.url, f.origin, t.console) if t is not None else None,
        "explanation": t.explanation or None if t is not None else None,
        "fix": t.fix or None if t is not None else None,
        "fix_headers": list(t.fix_headers) if t is not None else [],
        "firefox": REASONS[f.reason].firefox or None if f.reason is not None else None,
        "confidence": f.confidence,
        "warnings": list(f.warnings),
        "hidden_headers": list(f.hidden_headers),
        "remedy": remedy,
        "if_credentialed": (_hint(f, f.if_credentialed, f.browser or _NO_UA)
                            if f.if_credentialed else None),
        "browser": browser,
        "related": related,
        "checks": [{"check": c.check, "ok": c.ok, "got": c.got, "want": c.want}
                   for c in f.checks],
        "cookies": cookie_meta,
        "comment": _comment(f, cookies),
        "marked": marker if f.verdict == HIDDEN else "",
    }
    if notes:  # (absent: none; two empty lists on every flow cost the collector)
        meta["engine_notes"] = notes
    return meta


def _note(n: CookieNote) -> dict[str, Any]:
    out: dict[str, Any] = {"name": n.name, "reasons": [str(r) for r in n.reasons],
                           "detail": n.detail, "fix": n.fix}
    if n.when:
        out["if"] = n.when
    if n.silent:
        out["silent"] = True
    return out


def _cookies(c: Cookies) -> dict[str, Any]:
    return {"rejected": [_note(n) for n in c.rejected], "withheld": [_note(n) for n in c.withheld],
            "third_party_cookies": c.third_party, "lead": c.lead, "rules": c.rules}


# reasons a comment does not name unless they lead (the metadata still lists them)
_QUIET = frozenset(("NotCredentialed", "DomainMismatch", "NotOnPath"))


def _said(notes: tuple[CookieNote, ...]) -> list[CookieNote]:
    """The notes a comment names: certain ones, not only of quiet reasons."""
    return [n for n in notes if not n.when and not set(n.reasons) <= _QUIET]


def _cookie_comment(c: Cookies) -> str:
    """The cookie findings in one line: the lead (a cookie failure behind a 401/403 or a
    login redirect), else the refused and withheld cookies that are certain."""
    if c.lead:
        return "Cookie: " + c.lead
    parts = []
    refused = _said(c.rejected)
    if refused:
        parts.append("refused " + ", ".join(f"{n.name} ({', '.join(n.reasons)})" for n in refused))
    withheld = _said(c.withheld)
    if withheld:
        parts.append("not sent " + ", ".join(f"{n.name} ({', '.join(n.reasons)})"
                                             for n in withheld))
    if not parts:
        return ""
    first = (refused or withheld)[0]
    return f"Cookies: {'; '.join(parts)} — fix {first.name}: {first.fix}"


def _remedy(r: Remedy | None) -> dict[str, Any] | None:
    if r is None:
        return None
    out: dict[str, Any] = {"steps": [_step(s) for s in r.steps], "complete": r.complete}
    if not r.complete:
        out["why_incomplete"] = r.why_incomplete
    out["note"] = r.note
    if r.server_hint:
        out["server_hint"] = r.server_hint
    if r.server_says:
        out["server_says"] = r.server_says
    return out


def _step(s: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"on": s.on, "method": s.method, "url": s.url, "status": s.status,
                           "set": list(s.set)}
    if s.remove:
        out["remove"] = list(s.remove)
    if s.when:
        out["if"] = s.when
    return out


def _where(step: dict[str, Any], url: str) -> str:
    if step["url"] == url and step["on"] != "preflight":
        return "this response"
    if step["on"] == "preflight":
        return "the preflight (OPTIONS)" if step["url"] == url else f"OPTIONS {step['url']}"
    return f"{step['method']} {step['url']}"


def _change(step: dict[str, Any]) -> str:
    parts = [f"answer {step['status']}"] if step["status"] is not None else []
    parts += [f"drop {n}" for n in step.get("remove", ())]
    parts += [f'"{printable(line, 300)}"' for line in step["set"]]
    return ", ".join(parts)


def fix_line(remedy: dict[str, Any], url: str) -> str:
    """The remedy in one line: its first step, what it needs with credentials, and how
    many other responses must change too."""
    steps = remedy["steps"]
    if not steps:
        return remedy.get("why_incomplete") or remedy.get("note") or ""
    first = next((s for s in steps if "if" not in s), steps[0])
    here = (first["on"], first["method"], first["url"])
    text = ("if the page sends credentials: " if "if" in first else "") + \
        f"on {_where(first, url)}: {_change(first)}"
    cond = [s for s in steps if "if" in s and s is not first
            and (s["on"], s["method"], s["url"]) == here]
    if cond:
        text += "; if the page sends credentials also " + ", ".join(_change(s) for s in cond)
    others = len({(s["on"], s["method"], s["url"]) for s in steps} - {here})
    if others:
        text += f" (+{others} more response{'s' if others > 1 else ''} to change: cors.remedy)"
    return text


def spoken(browser: dict[str, Any]) -> str:
    """How the client's own engine names a failure, for a comment: Chromium's reason is
    the comment's key already; Firefox's name, WebKit's console text."""
    if browser["engine"] == Engine.FIREFOX and browser["reason"]:
        return f" [{browser['name']}: {browser['reason']}]"
    if browser["engine"] == Engine.WEBKIT and browser["message"]:
        return f" [{browser['name']}: \"{printable(browser['message'], 300)}\"]"
    return ""


_LINKS = frozenset(("preflight", "actual"))  # related flows, by id (a comment never names them)


def _unlinked(f: Finding) -> Finding:
    """The finding without the ids of the flows it relates to: what its rendering, but
    for ``related``, depends on (the same for every flow of a repeated call); the finding
    itself when it links to none."""
    for k, _ in f.related:
        if k in _LINKS:
            return f._replace(related=tuple(kv for kv in f.related if kv[0] not in _LINKS))
    return f


def _comment(f: Finding, cookies: Cookies | None = None) -> str:
    """One line for flow.comment: the reason and the remedy's first step for a hidden
    response, plus the headers JavaScript cannot read (those worth naming) and
    browser-divergence warnings. Empty for a fine flow: the if_credentialed hint is not a
    finding."""
    fields = tuple(sorted(f.fields)) if f.fields else ()
    t = _texts(f, fields)
    related = dict(f.related)
    remedy = _remedy(f.remedy)
    browser = _browser(f, fields)
    parts = []
    if t is not None and f.verdict == HIDDEN:
        said = f' (server says: "{remedy["server_says"]}")' if remedy and \
            remedy.get("server_says") else ""
        fix = fix_line(remedy, f.url) if remedy else t.fix
        line = (f"CORS {f.reason}{spoken(browser) if browser else ''}: {t.explanation}{said} — "
                f"{'fix ' if remedy and remedy['steps'] else ''}{fix}")
        if "chain" in related:
            line += f" (redirect {related['chain']})"
        if f.confidence != "certain":
            line += f" [{f.confidence}]"
        parts.append(line)
    if f.noted_headers:
        shown = ", ".join(printable(h, 60) for h in f.noted_headers[:20])
        more = f" (+{len(f.noted_headers) - 20} more)" if len(f.noted_headers) > 20 else ""
        fix = fix_line(remedy, f.url) if remedy else ""
        parts.append(f"CORS: JS cannot read {shown}{more}" + (f" — {fix}" if fix else "")
                     + (f" ({remedy['note']})" if remedy and remedy["note"]
                        and remedy["note"] != fix else ""))
    parts.extend("CORS warning: " + w for w in f.warnings)
    parts.extend(f"CORS note ({', '.join(ENGINE_LABEL[e] for e in n.engines)}): {n.text}"
                 for n in f.engine_notes)
    if cookies is not None:
        line = _cookie_comment(cookies)
        if line:
            parts.insert(0 if cookies.lead else len(parts), line)
    return " | ".join(parts)


def log_line(meta: dict[str, Any]) -> str:
    origin = f" (origin {printable(meta['origin'])})" if meta.get("origin") else ""
    return (f"[cors] {printable(meta['method'])} {printable(meta['url'], 300)}"
            f"{origin}: {meta['comment']}")


_ROLE = {"actual": "actual response", "preflight": "preflight (OPTIONS) response",
         "redirect": "redirect response"}


def _v(value: Any) -> str:
    return "(missing)" if value is None else repr(value)
def explain(meta: dict[str, Any] | None) -> str:
    if not meta:
        return "cors-creds: not a CORS flow (same-origin, navigation, no-cors, websocket or no Origin)."
    if meta.get("verdict") is None:
        return (f"Request: {meta.get('method')} {meta.get('url')}\nNot a CORS flow.\n\n"
                + cookies_text(meta.get("cookies")))
    out: list[str] = []
    verdict = meta.get("verdict")
    if verdict == "hidden":
        out.append(f"CORS: HIDDEN from JavaScript — {meta.get('reason')} ({meta.get('confidence')})")
    else:
        out.append("CORS: readable by JavaScript")
    out.append(f"Request: {meta.get('method')} {meta.get('url')}")
    out.append(f"Origin: {meta.get('origin')}")
    out.append(f"Role: {_ROLE.get(meta.get('role'), meta.get('role'))}")
    creds = meta.get("credentials") or []
    mode = meta.get("credentials_mode")
    out.append(f"Credentials: {mode}" + (f" — {'; '.join(creds)}" if creds else
                                          " — nothing on the wire shows credentials"))
    checks = meta.get("checks") or []
    if checks:
        out += ["", "Checks, in Chromium's order:"]
        for c in checks:
            mark = "pass" if c.get("ok") else "FAIL"
            out.append(f"  [{mark}] {c.get('check')}: got {_v(c.get('got'))}, want {c.get('want')!r}")
    if verdict == "hidden":
        out += ["", "Why:", f"  {meta.get('explanation')}"]
        out += _engine_text(meta)
        if not meta.get("remedy"):  # a flow annotated before remedies existed
            out += ["", "Fix: " + (meta.get("fix") or "")]
            out += [f"  {h}" for h in meta.get("fix_headers") or []]
    hint = meta.get("if_credentialed")
    if hint:
        out += ["", "If the page sends this with credentials (fetch credentials: 'include', "
                    "xhr.withCredentials = true), the browser will hide it:",
                f"  {hint.get('reason')}: {hint.get('explanation')}",
                f"  Fix: {hint.get('fix')}"]
        out += [f"    {h}" for h in hint.get("fix_headers") or []]
    if meta.get("hidden_headers"):
        out += ["", "Response headers JavaScript cannot read (not CORS-safelisted, not exposed):",
                "  " + ", ".join(meta["hidden_headers"])]
    if meta.get("remedy"):
        out += ["", remedy_text(meta["remedy"]).rstrip("\n")]
    if meta.get("warnings"):
        out += ["", "Browser differences:"] + [f"  - {w}" for w in meta["warnings"]]
    if meta.get("engine_notes"):
        out += ["", "In other engines:"] + [
            f"  - {', '.join(ENGINE_LABEL[Engine(e)] for e in n['engines'])}: {n['note']}"
            for n in meta["engine_notes"]]
    related = meta.get("related") or {}
    if related:
        out += ["", "Related flows:"] + [f"  {k}: {v}" for k, v in related.items()]
    if meta.get("cookies"):
        out += ["", cookies_text(meta["cookies"]).rstrip("\n")]
    if meta.get("security"):
        out += ["", security_text(meta["security"]).rstrip("\n")]
    return "\n".join(out) + "\n"


def security_text(security: list[dict[str, Any]]) -> str:
    """The Security section: each issue, the attack in two sentences, the fix."""
    out = ["Security:"]
    for s in security:
        proof = "" if s.get("confidence") == "proof" else " — evidence, not proof"
        out.append(f"  [{s['severity'].upper()}] {s['issue']}{proof}: {s['detail']}")
        out.append(f"    attack: {s['attack']}")
        out.append(f"    fix: {s['fix']}")
        if s.get("evidence"):
            out.append("    seen: " + "; ".join(f"{k}: {v}" for k, v in s["evidence"].items()))
    return "\n".join(out) + "\n"


def _engine_text(meta: dict[str, Any]) -> list[str]:
    """The client's browser and its own words; Chromium's beside them (the stable key)."""
    b = meta.get("browser") or {}
    out = []
    engine = b.get("engine")
    if engine in (Engine.FIREFOX, Engine.WEBKIT) and b.get("message"):
        name = f" ({b['reason']})" if b.get("reason") else ""
        out += [f"The client is {b.get('name')} ({ENGINE_LABEL[Engine(engine)]}); its console "
                f"says{name}:", f"  {b['message']}"]
        if b.get("note"):
            out.append(f"  ({b['note']})")
    elif engine == Engine.UNKNOWN:
        out.append(f"The client ({b.get('name')}) is no browser engine this addon knows: "
                   "Chromium's words.")
    if meta.get("message"):
        out += ["Chromium's console says:", f"  {meta['message']}"]
    if meta.get("firefox") and engine != Engine.FIREFOX:
        out.append(f"Firefox reports it as {meta['firefox']}.")
    return out


_IF = {"credentialed": " (only if the page sent credentials)",
       "uncredentialed": " (only if the page did not send credentials)"}


def cookies_text(cookies: dict[str, Any] | None) -> str:
    """The Cookies section of the explanation."""
    if not cookies:
        return "Cookies: nothing to say.\n"
    out = ["Cookies:"]
    if cookies.get("lead"):
        out.append(f"  Not really CORS: {cookies['lead']}")
    for title, key in (("Refused (not stored)", "rejected"), ("Not sent", "withheld")):
        notes = cookies.get(key) or []
        if notes:
            out.append(f"  {title}:")
        for n in notes:
            quiet = " — DevTools says nothing" if n.get("silent") else ""
            out.append(f"    {n['name']}: {', '.join(n['reasons'])}{_IF.get(n.get('if'), '')}{quiet}")
            out.append(f"      why: {n['detail']}")
            out.append(f"      fix: {n['fix']}")
    out.append(f"  Third-party cookies in this client: {cookies.get('third_party_cookies')}")
    out.append(f"  Rules: {cookies.get('rules')}; sites from {PSL_SOURCE}")
    return "\n".join(out) + "\n"


_ON = {"preflight": "the preflight response", "actual": "the response",
       "redirect": "the redirect response"}


def remedy_text(remedy: dict[str, Any] | None) -> str:
    """The remedy as ready-to-paste header blocks, one per response to change."""
    if not remedy:
        return "cors-creds: nothing to change.\n"
    out = ["Remedy: change these responses, all of them, for the browser to hand the "
           "response to JavaScript:"]
    for i, step in enumerate(remedy.get("steps") or (), 1):
        cond = " — only if the page sends credentials" if step.get("if") else ""
        out.append(f"  {i}. {_ON.get(step['on'], step['on'])} to {step['method']} "
                   f"{step['url']}{cond}:")
        if step.get("status") is not None:
            out.append(f"       HTTP/1.1 {step['status']}")
        out += [f"       {line}" for line in step.get("set") or ()]
        out += [f"       (remove {name})" for name in step.get("remove") or ()]
    if not remedy.get("complete", True):
        out.append(f"  Incomplete: {remedy.get('why_incomplete')}")
    if remedy.get("server_says"):
        out.append(f"  The server says: {remedy['server_says']}")
    if remedy.get("note"):
        out.append(f"  Note: {remedy['note']}")
    if remedy.get("server_hint"):
        out.append(f"  Server hint: {remedy['server_hint']}")
    return "\n".join(out) + "\n"
