"""Each engine's cookie policy, judged by the engine: Firefox ESR (Total Cookie
Protection, its default) and WebKitGTK (ITP on) run the same few cookie stories through a
real mitmdump with the addon, on host names the test proxy maps to loopback (each case its
own sites, so that no case sees another's cookies). What the server received is the
browser's verdict: on every call, each cookie set before on that host either arrived or
did not, and the addon must say the same — a cookie that did not arrive is one the addon
said was refused when set, or withheld on this call, with the reasons of that engine's
policy; a cookie that arrived is never claimed withheld.

A story: an optional first-party visit that sets cookies, then a page on another site (or
the same) whose script fetches the API with credentials, in order, and logs its outcome."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pytest
from engine_drivers import FIREFOX, MINIBROWSER, RESULT, XVFB, Firefox, Xvfb, webkit_run
from harness import Mitmdump, Route, Server

pytestmark = pytest.mark.browser

SUMMARY: list[str] = []


@dataclass(frozen=True)
class Story:
    id: str
    why: str
    first: tuple[str, tuple[str, ...]] | None  # a first-party visit: URL, Set-Cookie lines
    page: str  # the page that calls the API
    calls: tuple[tuple[str, tuple[str, ...]], ...]  # (API URL, the Set-Cookie lines it answers)


# Hosts: EX = api.example-N.test (the page's site or not), OT = api.other-N.test.
STORIES = [
    Story("none-insecure", "SameSite=None without Secure: Firefox and Chromium refuse it, "
          "WebKitGTK keeps it", ("http://api.EX/set", ("n=1; SameSite=None; Path=/",
                                                    "plain=1; Path=/")),
          "http://app.EX/page", (("http://api.EX/me", ()),)),
    Story("first-party-cookie-cross-site", "set on its own site, read from another site's page: "
          "Firefox keeps it in the API site's partition, WebKit blocks third-party cookies",
          ("http://api.OT/set", ("t=1; Path=/",)), "http://app.EX/page",
          (("http://api.OT/me", ()),)),
    Story("third-party-set", "set by a cross-site fetch: Firefox stores it in the page's "
          "partition and sends it back, WebKit refuses it", None, "http://app.EX/page",
          (("http://api.OT/login", ("s=1; Path=/",)), ("http://api.OT/me", ()))),
    Story("same-site-lax", "same site: every engine sends a Lax and an unspecified cookie",
          ("http://api.EX/set", ("l=1; SameSite=Lax; Path=/", "u=1; Path=/")),
          "http://app.EX/page", (("http://api.EX/me", ()),)),
    Story("third-party-none", "SameSite=None set by a cross-site fetch: refused by Firefox "
          "(not Secure) and by WebKit (third party)", None, "http://app.EX/page",
          (("http://api.OT/login", ("x=1; SameSite=None; Path=/",)), ("http://api.OT/me", ()))),
]


def _hosts(i: int, url: str) -> str:
    return url.replace("EX", f"example-{i}.test").replace("OT", f"other-{i}.test")


PAGE_JS = """(async (calls) => {
  const out = [];
  for (const url of calls) {
    try { const r = await fetch(url, {credentials: "include", cache: "no-store"}); out.push(r.status); }
    catch (e) { out.push(String(e)); }
  }
  console.error(MARK + JSON.stringify({ok: true, status: out}));
})"""


class Sites:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.routes: dict[tuple[str, str], Route] = {}
        server.fallback = self.serve

    def install(self, i: int, story: Story) -> str:
        """The story's routes; returns its start URL."""
        def path(url):
            parts = urlsplit(_hosts(i, url))
            return parts.hostname, f"/s/{story.id}{parts.path}", parts

        calls = [_hosts(i, u).replace(urlsplit(_hosts(i, u)).path,
                                      f"/s/{story.id}{urlsplit(u).path}") for u, _ in story.calls]
        script = (PAGE_JS.replace("MARK", json.dumps(RESULT)) + f"({json.dumps(calls)});")
        host, p, parts = path(story.page)
        page_url = f"http://{host}{p}"
        self.routes[(host, p)] = Route(200, [("Content-Type", "text/html")],
                                       f"<!doctype html><script>{script}</script>".encode())
        for url, lines in story.calls:
            host, p, _ = path(url)
            self.routes[(host, p)] = Route(200, [("Set-Cookie", line) for line in lines],
                                           b'{"ok": 1}', reflect_origin=True)
        if story.first is None:
            return page_url
        host, p, _ = path(story.first[0])
        self.routes[(host, p)] = Route(
            200, [("Content-Type", "text/html"), *(("Set-Cookie", line) for line in story.first[1])],
            f"<!doctype html><script>location.replace({json.dumps(page_url)})</script>".encode())
        return f"http://{host}{p}"

    def serve(self, handler) -> Route | None:
        host = (handler.headers.get("Host") or "").rsplit(":", 1)[0]
        route = self.routes.get((host, urlsplit(handler.path).path))
        if route is not None and route.reflect_origin:
            route = Route(route.status, [*route.headers, ("Access-Control-Allow-Credentials",
                                                          "true"), ("Vary", "Origin"),
                                         ("Content-Type", "application/json")],
                          route.body, True)
        return route


def _run(engine: str, tmp) -> dict:
    with Server() as server:
        sites = Sites(server)
        starts = [sites.install(i, s) for i, s in enumerate(STORIES)]
        report = str(tmp / "report.json")
        md = Mitmdump("--set", f"cors_creds_report={report}",
                      "--set", f"loopback_map=http:{server.server_address[1]}")
        outcomes = {}
        try:
            if engine == "firefox":
                ff = Firefox(md.proxy_port)
                try:
                    for story, start in zip(STORIES, starts):
                        texts = ff.load(start, RESULT)
                        outcomes[story.id] = any(RESULT in t for t in texts)
                finally:
                    ff.close()
            else:
                screen = Xvfb()
                try:
                    for story, start in zip(STORIES, starts):
                        result, lines = webkit_run(screen.display, md.proxy_port, start)
                        outcomes[story.id] = result is not None
                finally:
                    screen.close()
            time.sleep(0.3)
        finally:
            rc = md.stop()
        with open(report) as fh:
            rep = json.load(fh)
        return {"rc": rc, "output": md.output, "report": rep, "received": list(server.received),
                "outcomes": outcomes}


def _cookie_names(headers) -> set[str]:
    out = set()
    for k, v in headers:
        if k.lower() == "cookie":
            out |= {p.split("=", 1)[0].strip() for p in v.split(";") if "=" in p}
    return out


def judge(run: dict, i: int, story: Story) -> tuple[int, int, list[str]]:
    """(cookie decisions, agreements, problems) of one story."""
    flows = run["report"]["flows"]
    received = [(urlsplit(path).path, dict((k.lower(), v) for k, v in h), _cookie_names(h))
                for _, path, h, _ in run["received"] if f"/s/{story.id}/" in path]
    set_by_host: dict[str, set[str]] = {}
    refused: set[str] = set()
    steps = ([story.first] if story.first else []) + list(story.calls)
    decisions = agreements = 0
    problems = []
    for url, lines in steps:
        host = urlsplit(_hosts(i, url)).hostname
        path = f"/s/{story.id}{urlsplit(url).path}"
        got = next((r for r in received if r[0] == path and r[1].get("host", "").startswith(host)),
                   None)
        entry = next((e for e in flows if urlsplit(e["url"]).path == path
                      and urlsplit(e["url"]).hostname == host), None)
        cookies = (entry or {}).get("cookies") or {}
        withheld = {n["name"]: n["reasons"] for n in cookies.get("withheld", [])}
        if got is None:
            problems.append(f"{path}: the browser never requested it")
            continue
        for name in sorted(set_by_host.get(host, set())):
            decisions += 1
            sent = name in got[2]
            said_not = name in refused or name in withheld
            if sent != said_not:
                agreements += 1
            else:
                problems.append(f"{path}: cookie {name} {'sent' if sent else 'not sent'}; addon: "
                                f"{'refused when set' if name in refused else withheld.get(name, 'nothing')}")
        for n in cookies.get("rejected", []):
            if n.get("if") != "uncredentialed" and n["reasons"][0] not in (
                    "NotCredentialed", "PreflightResponse"):
                refused.add(n["name"])
        for line in lines:
            set_by_host.setdefault(host, set()).add(line.split("=", 1)[0])
    return decisions, agreements, problems


@pytest.mark.parametrize("engine", ["firefox", "webkit"])
def test_engine_cookie_policy_agrees(engine, tmp_path):
    if engine == "firefox" and FIREFOX is None or engine == "webkit" and (
            MINIBROWSER is None or XVFB is None):
        pytest.fail(f"{engine} is not installed: run bash .ci/setup")
    run = _run(engine, tmp_path)
    total = agree = 0
    failures = []
    for i, story in enumerate(STORIES):
        if not run["outcomes"][story.id]:
            failures.append(f"{story.id}: the page never logged its outcome")
        d, a, problems = judge(run, i, story)
        total, agree = total + d, agree + a
        failures += [f"{story.id}: {p}" for p in problems]
    rules = {e["cookies"]["rules"].split(" ")[0] for e in run["report"]["flows"]
             if e.get("cookies")}
    SUMMARY.append(f"{engine} cookies: {agree}/{total} cookie decisions agree "
                   f"({len(STORIES)} stories)")
    assert run["rc"] == 0 and "Traceback" not in run["output"]
    assert rules == {"Firefox's" if engine == "firefox" else "WebKit's"}, rules
    assert total >= 6 and not failures, "\n".join(failures)
