"""Security end to end: real local servers with the CORS configurations people deploy
(../shared/middleware-observed.md), a real mitmdump with the addon, a real HTTP client
(urllib through the proxy) — and Chromium for one of them. With ``cors_creds_probe`` on,
each configuration gets exactly its findings and a correct allowlist none; with it off,
the servers receive only the client's requests, and the passive findings still come.

Page origin: https://app.example.test (an Origin header string; the APIs listen on
127.0.0.1, one https server among them for the http-origin case)."""

from __future__ import annotations

import json
import re
import ssl
import time
import urllib.error
import urllib.request

import pytest
from harness import Mitmdump, Route, Server, read_flows, tls_context

pytestmark = pytest.mark.e2e

PAGE = "https://app.example.test"
COOKIE = "sid=SECRET-SEC-77"


def _reflect(origin):
    return [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"),
            ("Vary", "Origin")]


def _if(test):
    return lambda o: _reflect(o) if o is not None and test(o) else []


# name -> (Origin -> response headers)
CONFIGS = {
    "reflect-any": _if(lambda o: True),  # Starlette *, flask-cors/django/Express reflecting
    "allowlist": _if(lambda o: o == PAGE),
    "suffix-regex": _if(lambda o: re.match(r"https://.*example\.test$", o)),
    "prefix": _if(lambda o: o.startswith(PAGE)),
    "null-allowed": _if(lambda o: o in (PAGE, "null")),
    "reflect-no-vary": lambda o: [h for h in _reflect(o) if h[0] != "Vary"] if o else [],
    "wildcard-creds": lambda o: [("Access-Control-Allow-Origin", "*"),
                                 ("Access-Control-Allow-Credentials", "true")],
    "two-no-vary": lambda o: [h for h in _reflect(o) if h[0] != "Vary"]
    if o in (PAGE, "https://admin.example.test") else [],
    "put-reflect": _if(lambda o: True),  # a PUT endpoint: probed through its preflight only
}
HTTPS_CONFIGS = {"http-allowed": _if(lambda o: o in (PAGE, "http://app.example.test"))}
WANT = {  # with the probe on
    "reflect-any": ["origin-reflected"],
    "allowlist": [],
    "suffix-regex": ["suffix-match"],
    "prefix": ["prefix-match"],
    "null-allowed": ["null-trusted"],
    "reflect-no-vary": ["origin-reflected", "vary-missing"],
    "put-reflect": ["origin-reflected"],
    "http-allowed": ["insecure-origin-trusted"],
}


def _serve(configs):
    def fallback(handler):
        m = re.fullmatch(r"/sec/([a-z-]+)/data", handler.path.split("?")[0])
        if not m or m.group(1) not in configs:
            return None
        headers = list(configs[m.group(1)](handler.headers.get("Origin")))
        if handler.command == "OPTIONS":
            headers += [("Access-Control-Allow-Methods", "GET, PUT"),
                        ("Access-Control-Allow-Headers", "content-type")]
            return Route(204, headers, b"")
        return Route(200, [("Content-Type", "application/json"), *headers], b'{"me": 1}')
    return fallback


def send(proxy, url, method="GET", origin=PAGE, preflight=False):
    """What a browser's fetch(url, {credentials: 'include'}) puts on the wire."""
    handlers = [urllib.request.ProxyHandler({"http": proxy, "https": proxy}),
                urllib.request.HTTPSHandler(context=ssl._create_unverified_context())]
    opener = urllib.request.build_opener(*handlers)
    steps = []
    if preflight:
        steps.append(("OPTIONS", [("Origin", origin), ("Access-Control-Request-Method", method),
                                  ("Access-Control-Request-Headers", "content-type")], None))
    steps.append((method, [("Origin", origin), ("Cookie", COOKIE),
                           ("Content-Type", "application/json")] if method != "GET"
                  else [("Origin", origin), ("Cookie", COOKIE)], b"{}" if method != "GET" else None))
    for m, headers, body in steps:
        req = urllib.request.Request(url, data=body, method=m)
        req.add_header("Sec-Fetch-Mode", "cors")
        for k, v in headers:
            req.add_header(k, v)
        try:
            with opener.open(req, timeout=10) as r:
                r.read()
        except urllib.error.HTTPError as e:
            e.read()


def _wait(pred, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def _run(tmp, probe: bool, traffic, endpoints: int = 0):
    """traffic(proxy, api, tls_api) -> how many requests the client sent; with the probe
    on, waits (bounded) until ``endpoints`` probe runs have started and concluded."""
    tls = tls_context(str(tmp))
    with Server() as api, Server(tls=tls) as tapi:
        api.fallback, tapi.fallback = _serve(CONFIGS), _serve(HTTPS_CONFIGS)
        wfile, report = str(tmp / "flows.mitm"), str(tmp / "report.json")
        md = Mitmdump("--set", f"cors_creds_probe={'true' if probe else 'false'}",
                      "--set", "ssl_insecure=true", "--set", f"cors_creds_report={report}",
                      wfile=wfile)
        try:
            sent = traffic(md.proxy_url, api.origin, tapi.origin.replace("http:", "https:"))
            if probe:
                _wait(lambda: md.output.count("[cors] probing ") >= endpoints
                      and md.output.count("[cors] probe of ") >= endpoints)
            else:
                time.sleep(1.0)  # anything the addon would send, it would send by now
        finally:
            rc = md.stop()
        with open(report) as fh:
            rep = json.load(fh)
        return {"rc": rc, "output": md.output, "flows": read_flows(wfile), "report": rep,
                "received": api.received + tapi.received, "sent": sent}


def probe_traffic(proxy, api, tls_api):
    n = 0
    for name in CONFIGS:
        if name in ("wildcard-creds", "two-no-vary"):
            continue
        put = name == "put-reflect"
        send(proxy, f"{api}/sec/{name}/data", "PUT" if put else "GET", preflight=put)
        n += 2 if put else 1
    send(proxy, f"{tls_api}/sec/http-allowed/data")
    return n + 1


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    run = _run(tmp_path_factory.mktemp("probe-on"), True, probe_traffic, endpoints=len(WANT))
    assert run["output"].count("[cors] probe of ") == len(WANT), run["output"][-3000:]
    return run


def _security_of(run, name):
    """The security issues on the client's own flow(s) of a configuration."""
    out = set()
    for f in run["flows"]:
        if f"/sec/{name}/" in f.request.url and "cors_creds_probe" not in f.metadata:
            out |= {s["issue"] for s in (f.metadata.get("cors_creds") or {}).get("security", [])}
    return sorted(out)


@pytest.mark.parametrize("name", sorted(WANT))
def test_probe_classifies_each_configuration(probed, name):
    assert _security_of(probed, name) == WANT[name], name


def test_probe_flows_are_marked_and_kept_out_of_the_analysis(probed):
    probes = [f for f in probed["flows"] if "cors_creds_probe" in f.metadata]
    assert probes and all("cors_creds" not in f.metadata for f in probes)
    assert all(f.comment.startswith("cors-creds probe (") for f in probes)
    client = [f for f in probed["flows"] if "cors_creds_probe" not in f.metadata]
    assert probed["report"]["counts"]["cors_flows"] == len(
        [f for f in client if (f.metadata.get("cors_creds") or {}).get("verdict")])
    assert all("cors-creds-probe" not in e["origin"] for e in probed["report"]["flows"])


def test_probe_never_sends_a_state_changing_request_nor_follows_anything(probed):
    forged = [r for r in probed["received"]
              if dict(r[2]).get("Origin") not in (PAGE, None)]
    assert forged  # probes were sent
    for method, path, headers, body in forged:
        if "/put-reflect/" in path:
            assert method == "OPTIONS" and body == b""
            assert "Cookie" not in dict(headers)
        else:
            assert method == "GET"
    per_endpoint = {}
    for method, path, headers, body in forged:
        per_endpoint[path] = per_endpoint.get(path, 0) + 1
    assert max(per_endpoint.values()) <= 6  # each endpoint probed once: at most six origins


def test_probe_report_and_log_carry_no_secret(probed):
    dump = json.dumps(probed["report"]) + probed["output"]
    assert "SECRET-SEC-77" not in dump
    assert probed["rc"] == 0 and "Traceback" not in probed["output"]
    rows = {(r["endpoint"].split("/sec/")[1].split("/")[0], r["issue"])
            for r in probed["report"]["security"]}
    assert ("reflect-any", "origin-reflected") in rows
    assert not [r for r in rows if r[0] == "allowlist"]


def passive_traffic(proxy, api, tls_api):
    send(proxy, f"{api}/sec/reflect-any/data")
    send(proxy, f"{api}/sec/allowlist/data")
    send(proxy, f"{api}/sec/wildcard-creds/data")
    send(proxy, f"{api}/sec/null-allowed/data", origin="null")  # a sandboxed iframe
    send(proxy, f"{api}/sec/two-no-vary/data")
    send(proxy, f"{api}/sec/two-no-vary/data", origin="https://admin.example.test")
    send(proxy, f"{tls_api}/sec/http-allowed/data", origin="http://app.example.test")
    return 7


@pytest.fixture(scope="module")
def passive(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("probe-off"), False, passive_traffic)


def test_probe_off_sends_nothing_of_its_own(passive):
    assert len(passive["received"]) == passive["sent"]
    assert "probing" not in passive["output"]
    assert not [f for f in passive["flows"] if "cors_creds_probe" in f.metadata]


@pytest.mark.parametrize("name,want", [
    ("reflect-any", []),  # one exchange proves nothing about other origins
    ("allowlist", []),
    ("wildcard-creds", ["wildcard-with-credentials"]),
    ("null-allowed", ["null-trusted"]),
    ("two-no-vary", ["vary-missing"]),
    ("http-allowed", ["insecure-origin-trusted"]),
])
def test_passive_findings_need_no_probe(passive, name, want):
    assert _security_of(passive, name) == want


# -- the same through a real browser: Chromium's credentialed fetches, the probe on

@pytest.mark.browser
def test_chromium_fetches_get_each_configurations_findings(tmp_path):
    """The page https://app.example.test in Chromium (host names mapped to a loopback TLS
    server by the test proxy, mitmproxy intercepting) fetches every configuration's
    endpoint on https://api.example.test with credentials — the PUT one preflighted —
    through a mitmdump with the probe on: each flow gets exactly its findings, the
    allowlist none."""
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM_ARGS, chromium_path

    configs = {**CONFIGS, **HTTPS_CONFIGS}
    with Server(tls=tls_context(str(tmp_path))) as site:
        site.fallback = _serve(configs)
        site.routes["/"] = Route(200, [("Content-Type", "text/html")], b"<!doctype html><p>app")
        wfile = str(tmp_path / "flows.mitm")
        md = Mitmdump("--set", "cors_creds_probe=true", "--set", "ssl_insecure=true",
                      "--set", f"loopback_map=https:{site.server_address[1]}", wfile=wfile)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                            args=CHROMIUM_ARGS,
                                            proxy={"server": md.proxy_url, "bypass": "<-loopback>"})
                try:
                    tab = browser.new_context(ignore_https_errors=True).new_page()
                    tab.goto(PAGE + "/")
                    read = tab.evaluate("""async (names) => {
                      const out = {};
                      for (const name of names) {
                        const put = name === "put-reflect";
                        try {
                          const r = await fetch(`https://api.example.test/sec/${name}/data`, {
                            credentials: "include", method: put ? "PUT" : "GET",
                            headers: put ? {"content-type": "application/json"} : {},
                            body: put ? "{}" : undefined});
                          out[name] = r.ok;
                        } catch (e) { out[name] = false; }
                      }
                      return out; }""", sorted(WANT))
                finally:
                    browser.close()
            assert _wait(lambda: md.output.count("[cors] probe of ") >= len(WANT), 60)
        finally:
            rc = md.stop()
    assert rc == 0 and "Traceback" not in md.output
    assert read == {name: True for name in WANT}  # every one readable by the page itself
    run = {"flows": read_flows(wfile)}
    got = {name: _security_of(run, name) for name in WANT}
    assert got == WANT
    flow = next(f for f in run["flows"] if "/sec/reflect-any/" in f.request.url
                and "cors_creds_probe" not in f.metadata)
    assert "CORS security (high): origin-reflected" in flow.comment
    assert flow.metadata["cors_creds"]["browser"]["engine"] == "chromium"
