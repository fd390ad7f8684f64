"""The browser is the judge of cookies: every case of cookie_cases.py runs in a fresh
Chromium context through a real mitmdump with the addon, over https (mitmproxy
intercepting, the context ignoring its certificate) and http, on host names the test
proxy maps to loopback. Chromium's own account, over the DevTools Protocol:
``Network.responseReceivedExtraInfo.blockedCookies`` (Set-Cookie lines refused),
``Network.requestWillBeSentExtraInfo.associatedCookies`` (cookies not sent, and why),
``siteHasCookieInOtherPartition``, and the cookie store at the end.

The addon must say the same: every refused line and every withheld cookie, with the same
reasons; nothing DevTools does not say (a false alarm), except what the addon itself marks
"only if the page sent credentials" on a request that did not; the silent ones (a
preflight's Set-Cookie, Partitioned without Secure) absent from the store.

Run only this suite:  bash .ci/test tests/test_browser_cookies.py
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import pytest
from cookie_cases import CASES, CookieCase, R
from harness import Mitmdump, Route, Server, tls_context
from test_browser import CHROMIUM_ARGS, chromium_path

pytestmark = pytest.mark.browser

SUMMARY: list[str] = []
STEP_TIMEOUT_MS = 8_000
PAGE = b"<!doctype html><link rel=icon href='data:,'><title>cors-creds cookies</title><body>"

FETCH_JS = """async (a) => {
  try {
    const r = await fetch(a.url, {method: a.method, credentials: a.credentials, cache: "no-store",
                                  headers: a.method === "PUT" ? {"content-type": "application/json"} : {}});
    return {ok: true, status: r.status};
  } catch (e) { return {ok: false, error: String(e)}; }
}"""
XHR_JS = """(a) => new Promise((resolve) => {
  const x = new XMLHttpRequest();
  x.open("GET", a.url);
  x.withCredentials = a.withCredentials;
  x.onload = () => resolve({ok: true, status: x.status});
  x.onerror = () => resolve({ok: false});
  x.send();
})"""
FORM_JS = """(url) => { const f = document.createElement("form"); f.method = "POST"; f.action = url;
  const i = document.createElement("input"); i.name = "q"; i.value = "1"; f.appendChild(i);
  document.body.appendChild(f); f.submit(); }"""


class Sites:
    """The servers behind every name of the cases: one plain, one TLS, routed by Host."""

    def __init__(self, plain: Server, tls: Server) -> None:
        self.plain, self.tls = plain, tls
        self.routes: dict[tuple[str, str, str], R] = {}  # (method or "", host, path)
        self.loop = f"127.0.0.1:{plain.server_address[1]}"
        for server in (plain, tls):
            server.fallback = self.serve

    def url(self, case: CookieCase, url: str) -> str:
        url = url.replace("LOOP", self.loop)
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}/k/{case.id}{parts.path}"

    def install(self, case: CookieCase) -> None:
        for key, route in case.routes.items():
            method, _, url = key.rpartition(" ")
            parts = urlsplit(self.url(case, url))
            self.routes[(method, parts.hostname, parts.path)] = route

    def serve(self, handler) -> Route:
        host = (handler.headers.get("Host") or "").rsplit(":", 1)[0]
        path = urlsplit(handler.path).path
        origin = handler.headers.get("Origin")
        prefix = "/".join(path.split("/")[:3])  # /k/<case id>
        route = self.routes.get((handler.command, host, path)) or self.routes.get(("", host, path))
        if route is None and handler.command == "OPTIONS":
            route = R(204, [("Access-Control-Allow-Methods", "GET, PUT, POST"),
                            ("Access-Control-Allow-Headers", "content-type")])
        if route is None:
            route = R(200, cors=not path.endswith("/page"))
        headers = [(k, v.replace("{p}", prefix)) for k, v in route.headers]
        if handler.command != "OPTIONS":  # a page (no favicon request: it has its icon)
            headers.append(("Content-Type", "text/html"))
        if route.cors and origin:
            headers += [("Access-Control-Allow-Origin", origin),
                        ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")]
        return Route(route.status, headers, PAGE if handler.command != "OPTIONS" else b"")


def run_case(browser, sites: Sites, case: CookieCase) -> dict:
    ctx = browser.new_context(ignore_https_errors=True,
                              user_agent=f"cors-creds-cookie-test/{case.id} Chrome")
    try:
        page = ctx.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        cdp = ctx.new_cdp_session(page)
        urls: dict[str, list[str]] = {}
        sent: dict[str, list[dict]] = {}
        refused: list[dict] = []
        other_partition = []
        cdp.on("Network.requestWillBeSent",
               lambda e: urls.setdefault(e["requestId"], []).append(e["request"]["url"]))
        cdp.on("Network.requestWillBeSentExtraInfo",
               lambda e: (sent.setdefault(e["requestId"], []).append(e),
                          other_partition.append(e) if e.get("siteHasCookieInOtherPartition")
                          else None))
        cdp.on("Network.responseReceivedExtraInfo",
               lambda e: refused.extend(e.get("blockedCookies") or ()))
        cdp.send("Network.enable")
        for action in case.actions:
            kind, url = action[0], sites.url(case, action[1])
            if kind == "goto":
                page.goto(url)
            elif kind == "fetch":
                page.evaluate(FETCH_JS, {"url": url, "credentials": action[2],
                                         "method": action[3] if len(action) > 3 else "GET"})
            elif kind == "xhr":
                page.evaluate(XHR_JS, {"url": url, "withCredentials": action[2]})
            elif kind == "nav":
                with page.expect_navigation():
                    page.evaluate("(u) => { location.href = u; }", url)
            elif kind == "form":
                with page.expect_navigation():
                    page.evaluate(FORM_JS, url)
        page.wait_for_timeout(50)  # let the CDP events in
        withheld = set()
        for events in sent.values():
            for e in events:
                for c in e.get("associatedCookies") or ():
                    if c.get("blockedReasons"):
                        withheld.add((c["cookie"]["name"], frozenset(c["blockedReasons"])))
        refusals = set()
        for b in refused:
            name = (b.get("cookie") or {}).get("name")
            if name is None:
                name = b.get("cookieLine", "").split("=", 1)[0].split(";", 1)[0].strip()
            refusals.add((name, frozenset(b["blockedReasons"])))
        store = {(c["name"], c["domain"].lstrip(".")) for c in ctx.cookies()}
        return {"withheld": withheld, "refused": refusals, "store": store,
                "other_partition": bool(other_partition)}
    finally:
        ctx.close()


def addon_view(entries: list[dict], case: CookieCase) -> dict:
    marker = f"/k/{case.id}/"
    out = {"withheld": set(), "withheld_if": set(), "refused": set(), "refused_if": set(),
           "silent": set(), "other_partition": False, "leads": []}
    for e in entries:
        if marker not in e["url"] or not e.get("cookies"):
            continue
        c = e["cookies"]
        if c.get("lead"):
            out["leads"].append(c["lead"])
        for n in c["rejected"]:
            item = (n["name"], frozenset(n["reasons"]))
            if n.get("silent"):
                if not n.get("if"):
                    out["silent"].add(n["name"])
            else:
                out["refused_if" if n.get("if") else "refused"].add(item)
        for n in c["withheld"]:
            if n["reasons"] == ["OtherPartition"]:
                out["other_partition"] = True
                continue
            out["withheld_if" if n.get("if") else "withheld"].add((n["name"], frozenset(n["reasons"])))
    return out


def credentialed(case: CookieCase) -> bool:
    """Whether every cross-origin request of the case asks for credentials."""
    return all(a[2] in ("include", True) for a in case.actions if a[0] in ("fetch", "xhr"))


def compare(browser: dict, addon: dict, case: CookieCase) -> tuple[list[str], dict]:
    """Problems, and the counts: DevTools' entries the addon named, with the same reasons,
    and the addon's false alarms."""
    problems, n = [], {"withheld": 0, "withheld_named": 0, "refused": 0, "refused_named": 0,
                       "reasons": 0, "reasons_same": 0, "false_alarms": 0}
    for what in ("withheld", "refused"):
        said = addon[what] | addon[what + "_if"]
        said_names = {name for name, _ in said}
        for name, reasons in browser[what]:
            n[what] += 1
            n["reasons"] += 1
            if name in said_names:
                n[what + "_named"] += 1
            else:
                problems.append(f"{what} {name} {sorted(reasons)}: the addon did not say it")
            if (name, reasons) in said:
                n["reasons_same"] += 1
            elif name in said_names:
                problems.append(f"{what} {name}: browser {sorted(reasons)}, addon "
                                f"{sorted(sorted(r) for x, r in said if x == name)}")
        browser_names = {name for name, _ in browser[what]}
        alarms = {x for x in addon[what] if x[0] not in browser_names}
        if credentialed(case):  # "only if credentialed", and it was: a claim
            alarms |= {x for x in addon[what + "_if"] if x[0] not in browser_names}
        for name, reasons in sorted(alarms):
            n["false_alarms"] += 1
            problems.append(f"false alarm: {what} {name} {sorted(reasons)} (DevTools: nothing)")
    for name in addon["silent"]:
        if any(s == name for s, _ in browser["store"]):
            problems.append(f"silent refusal of {name}, but the browser stored it")
    if browser["other_partition"] != addon["other_partition"]:
        problems.append(f"other partition: browser {browser['other_partition']}, "
                        f"addon {addon['other_partition']}")
    return problems, n


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    path = chromium_path()
    if path is None:
        pytest.fail("chromium is not installed: run bash .ci/setup")
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("cookies")
    report = str(tmp / "report.json")
    started = time.monotonic()
    with Server() as plain, Server(tls=tls_context(str(tmp))) as tls:
        sites = Sites(plain, tls)
        for case in CASES:
            sites.install(case)
        md = Mitmdump("--set", f"cors_creds_report={report}", "--set", "ssl_insecure=true",
                      "--set", f"loopback_map=http:{plain.server_address[1]},"
                               f"https:{tls.server_address[1]}")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS,
                                            proxy={"server": md.proxy_url, "bypass": "<-loopback>"})
                try:
                    results = {case.id: run_case(browser, sites, case) for case in CASES}
                finally:
                    browser.close()
        finally:
            rc = md.stop()
    with open(report) as fh:
        rep = json.load(fh)
    return {"browser": results, "report": rep, "rc": rc, "output": md.output,
            "seconds": time.monotonic() - started}


def test_cookie_agreement(judged):
    entries = judged["report"]["flows"]
    problems, total = {}, {}
    for case in CASES:
        p, n = compare(judged["browser"][case.id], addon_view(entries, case), case)
        if p:
            problems[case.id] = p
        for k, v in n.items():
            total[k] = total.get(k, 0) + v
    SUMMARY.append(
        f"cookies: withheld {total['withheld_named']}/{total['withheld']}, refused "
        f"{total['refused_named']}/{total['refused']}, reasons {total['reasons_same']}/"
        f"{total['reasons']}, false alarms {total['false_alarms']} ({len(CASES)} cases, "
        f"{judged['seconds']:.0f} s)")
    assert judged["rc"] == 0, judged["output"][-3000:]
    assert not problems, json.dumps(problems, indent=1)

