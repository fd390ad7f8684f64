"""The browser is the judge: headless Chromium (Debian's) drives every case in
browser_cases.py through a real mitmdump running the addon, and the addon's verdict on
the case's flows must match what Chromium did (JavaScript could read the response or
not; DevTools Protocol ``Network.loadingFailed`` → ``corsErrorStatus.corsError``).

Run only this suite:  bash .ci/test tests/test_browser.py
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time

import pytest
from browser_cases import CASES, Case
from conftest import ROOT
from harness import Mitmdump, Route, Server, read_flows, run_offline

pytestmark = pytest.mark.browser

COOKIE_SECRET = "SECRET-COOKIE-b7d2"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions",
]
CASE_TIMEOUT_MS = 10_000

FETCH_JS = """async (a) => {
  try {
    const init = {method: a.method, credentials: a.credentials, cache: "no-store",
                  headers: a.headers};
    if (a.body !== null) init.body = a.body;
    const r = await fetch(a.url, init);
    const body = await r.text();
    return {ok: true, status: r.status, body, header: a.readHeader ? r.headers.get(a.readHeader) : null};
  } catch (e) { return {ok: false, error: String(e)}; }
}"""

XHR_JS = """(a) => new Promise((resolve) => {
  const x = new XMLHttpRequest();
  x.open(a.method, a.url);
  x.withCredentials = a.credentials === "include";
  for (const [k, v] of Object.entries(a.headers)) x.setRequestHeader(k, v);
  x.onload = () => resolve({ok: true, status: x.status, body: x.responseText,
                            header: a.readHeader ? x.getResponseHeader(a.readHeader) : null});
  x.onerror = () => resolve({ok: false, error: "XMLHttpRequest error"});
  x.send(a.body);
})"""


def chromium_path() -> str | None:
    for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "",
              shutil.which("chromium-browser") or ""):
        if p and os.access(p, os.X_OK):
            return p
    return None


class World:
    """The page origin, a same-site API and a cross-site API, all on loopback."""

    def __init__(self, page: Server, same: Server, cross: Server) -> None:
        self.page, self.servers = page, {"same": same, "cross": cross}

    def url(self, case: Case, ref: str) -> str:
        userinfo = ""
        if "@" in ref:
            userinfo, ref = ref.split("@", 1)
            userinfo += "@"
        server, path = ref.split(":", 1)
        host = self.servers[server].origin.removeprefix("http://")
        return f"http://{userinfo}{host}/c/{case.id}/{path}"

    def install(self, case: Case) -> None:
        origin = self.page.origin
        for key, step in case.steps.items():
            method, _, ref = key.rpartition(" ")
            server, path = ref.split(":", 1)
            headers = []
            for k, v in step.headers:
                if k == "Location":
                    v = self.url(case, v)
                v = v.replace("{origin_hostport}", origin.removeprefix("http://"))
                headers.append((k, v.replace("{origin}", origin)))
            body = step.body if step.body is not None else b"payload:" + case.id.encode()
            route = Route(step.status, headers, body, step.reflect)
            url_path = f"/c/{case.id}/{path}"
            self.servers[server].routes[(method, url_path) if method else url_path] = route


def run_case(browser, world: World, case: Case) -> dict:
    ctx = browser.new_context()
    try:
        start = world.url(case, case.start)
        if case.cookie:
            ctx.add_cookies([{"name": "sid", "value": COOKIE_SECRET,
                              "url": start.split("/c/", 1)[0] + "/"}])
        page = ctx.new_page()
        page.set_default_timeout(CASE_TIMEOUT_MS)
        cdp = ctx.new_cdp_session(page)
        failed: list[dict] = []
        cdp.on("Network.loadingFailed",
               lambda e: failed.append(e) if e.get("corsErrorStatus") else None)
        cdp.send("Network.enable")
        page.goto(world.page.origin + "/")
        args = {"url": start, "method": case.method, "credentials": case.credentials,
                "headers": dict(case.headers), "body": case.body, "readHeader": case.read_header}
        result = page.evaluate(FETCH_JS if case.client == "fetch" else XHR_JS, args)
        page.wait_for_timeout(30)  # let the CDP events in
        err = failed[0]["corsErrorStatus"] if failed else None
        return {
            "readable": bool(result.get("ok")),
            "header_readable": result.get("header") is not None,
            "cors_error": err["corsError"] if err else None,
            "failed_parameter": err.get("failedParameter") if err else None,
            "js": result,
        }
    finally:
        ctx.close()


@contextlib.contextmanager
def serving(cases: list[Case]):
    """The page, the same-site and the cross-site API, every case's routes installed."""
    with Server() as page, Server() as same, Server("127.0.0.2") as cross:
        page.routes["/"] = Route(200, [("Content-Type", "text/html")],
                                 b"<!doctype html><title>cors-creds page</title>")
        w = World(page, same, cross)
        for case in cases:
            w.install(case)
        yield w


@pytest.fixture(scope="module")
def world():
    """The servers, for every run of the module (the first judged run, the fix loop)."""
    with serving(CASES) as w:
        yield w


def run_cases(md: Mitmdump, world: World, cases: list[Case]) -> dict[str, dict]:
    path = chromium_path()
    if path is None:
        pytest.fail("chromium is not installed: run bash .ci/setup")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS,
            proxy={"server": md.proxy_url, "bypass": "<-loopback>"},
        )
        try:
            return {case.id: run_case(browser, world, case) for case in cases}
        finally:
            browser.close()


@pytest.fixture(scope="module")
def judged(world, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    report, wfile = str(tmp / "report.json"), str(tmp / "live.mitm")
    started = time.monotonic()
    run = proxied_run(world, CASES, report, wfile=wfile)
    return {**run, "flows": read_flows(wfile), "seconds": time.monotonic() - started,
            "wfile": wfile, "tmp": tmp}


def proxied_run(world: World, cases: list[Case], report: str, *args: str, **kw) -> dict:
    """The cases in Chromium through a real mitmdump with the addon (and ``kw``'s test
    addons), and the addon's report of the run."""
    md = Mitmdump("--set", f"cors_creds_report={report}",
                  "--set", "cors_creds_preflight_wait=1500", *args, **kw)
    try:
        results = run_cases(md, world, cases)
    finally:
        rc = md.stop()
    with open(report) as fh:
        rep = json.load(fh)
    return {"browser": results, "report": rep, "rc": rc, "output": md.output}


def case_entries(entries: list[dict], case: Case) -> list[dict]:
    marker = f"/c/{case.id}/"
    return sorted((e for e in entries if marker in e["url"]), key=lambda e: e["timestamp"])


def addon_view(entries: list[dict], case: Case) -> dict:
    """The addon's prediction for a case: the first hidden finding decides."""
    hidden = [e for e in entries if e["verdict"] == "hidden"]
    hints = [e["if_credentialed"]["reason"] for e in entries if e.get("if_credentialed")]
    last_actual = [e for e in entries if e["role"] == "actual"]
    hidden_headers = last_actual[-1]["hidden_headers"] if last_actual else []
    return {
        "readable": not hidden,
        "cors_error": hidden[0]["reason"] if hidden else None,
        "failed_parameter": hidden[0]["failed_parameter"] if hidden else None,
        "hint": hints[0] if hints else None,
        "header_readable": (case.read_header or "").lower() not in hidden_headers,
    }


def compare(browser: dict, addon: dict, case: Case) -> list[str]:
    problems = []
    if browser["readable"] != (browser["cors_error"] is None):
        problems.append(f"browser failed without a CORS error: {browser['js']}")
    if case.decidable:
        if (browser["readable"], browser["cors_error"]) != (addon["readable"], addon["cors_error"]):
            problems.append(f"browser {browser['cors_error'] or 'readable'} vs addon "
                            f"{addon['cors_error'] or 'exposed'}")
        elif browser["cors_error"] and browser["failed_parameter"] != addon["failed_parameter"]:
            problems.append(f"{browser['cors_error']}: browser failedParameter "
                            f"{browser['failed_parameter']!r} vs addon {addon['failed_parameter']!r}")
    else:
        if not addon["readable"] or addon["hint"] != browser["cors_error"]:
            problems.append(f"undecidable case: browser {browser['cors_error']} vs addon hint "
                            f"{addon['hint']} (verdict {'exposed' if addon['readable'] else 'hidden'})")
    if case.read_header and browser["readable"]:
        if browser["header_readable"] != addon["header_readable"]:
            problems.append(f"header {case.read_header}: browser readable="
                            f"{browser['header_readable']}, addon readable={addon['header_readable']}")
    return problems


def problems_of(judged, case: Case) -> list[str]:
    entries = case_entries(judged["report"]["flows"], case)
    if not entries:
        return [f"no CORS flow seen for {case.id}"]
    return compare(judged["browser"][case.id], addon_view(entries, case), case)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_addon_agrees_with_chromium(judged, case):
    entries = case_entries(judged["report"]["flows"], case)
    problems = problems_of(judged, case)
    assert not problems, f"{case.id}: {'; '.join(problems)}\n{json.dumps(entries, indent=1)}"


def test_matrix_covers_every_reason(judged):
    seen = {r["cors_error"] for r in judged["browser"].values() if r["cors_error"]}
    wanted = {
        "WildcardOriginNotAllowed", "MissingAllowOriginHeader", "MultipleAllowOriginValues",
        "InvalidAllowOriginValue", "AllowOriginMismatch", "InvalidAllowCredentials",
        "PreflightInvalidStatus", "PreflightDisallowedRedirect",
        "PreflightMissingAllowOriginHeader", "PreflightMultipleAllowOriginValues",
        "PreflightInvalidAllowOriginValue", "PreflightAllowOriginMismatch",
        "PreflightWildcardOriginNotAllowed", "PreflightInvalidAllowCredentials",
        "MethodDisallowedByPreflightResponse", "HeaderDisallowedByPreflightResponse",
        "InvalidAllowMethodsPreflightResponse", "InvalidAllowHeadersPreflightResponse",
        "RedirectContainsCredentials",
    }
    assert wanted <= seen, f"the browser never produced {sorted(wanted - seen)}"
    assert len(CASES) >= 60


def test_chromium_standard_divergence_is_flagged(judged):
    """ACAH * covering Authorization: Chromium lets it through (the case agrees above),
    the Fetch standard does not; the addon says so on the preflight."""
    case = next(c for c in CASES if c.id == "pf-authz-star-omit")
    assert judged["browser"][case.id]["readable"]
    preflight = [e for e in case_entries(judged["report"]["flows"], case) if e["role"] == "preflight"]
    assert preflight and any("Fetch standard" in w for w in preflight[0]["warnings"])


def test_mitmdump_clean_and_no_secret(judged):
    assert judged["rc"] == 0
    assert "Traceback" not in judged["output"] and "internal error" not in judged["output"]
    assert COOKIE_SECRET not in judged["output"]
    assert "SECRET-BEARER" not in judged["output"]
    assert COOKIE_SECRET not in json.dumps(judged["report"])
    assert "SECRET-BEARER" not in json.dumps(judged["report"])


def test_proxy_refused_non_loopback(judged):
    # Chromium's own background requests, if any, were refused before connecting.
    refused = [line for line in judged["output"].splitlines() if "[loopback-only] refused" in line]
    connected = [line for line in judged["output"].splitlines()
                 if "server connect" in line and "127." not in line.split("server connect")[1]]
    assert not connected, connected
    judged["refused"] = len(refused)


def _verdicts(flows) -> dict:
    return {f.id: (f.metadata["cors_creds"]["verdict"], f.metadata["cors_creds"]["reason"],
                   f.marked, f.comment)
            for f in flows if "cors_creds" in f.metadata}


def test_offline_rerun_gives_the_live_final_annotations(judged):
    """mitmdump -nr live.mitm -w offline.mitm settles every preflight before writing it,
    so the offline file carries the same final verdicts as the live run's report."""
    out = str(judged["tmp"] / "offline.mitm")
    rc, output = run_offline(judged["wfile"], out, "--set", "cors_creds_preflight_wait=1500")
    assert rc == 0, output
    offline = _verdicts(read_flows(out))
    live_final = {e["flow"]: (e["verdict"], e["reason"]) for e in judged["report"]["flows"]}
    assert {k: v[:2] for k, v in offline.items()} == live_final
    hidden = [v for v in offline.values() if v[0] == "hidden"]
    assert hidden and all(v[2] == ":no_entry:" and v[3].startswith("CORS ") for v in hidden)


def test_live_file_holds_the_final_verdicts(judged):
    """Live -w holds the final verdict of every flow, preflights settled after they
    were answered included (their write waits until they are settled)."""
    live_final = {e["flow"]: (e["verdict"], e["reason"]) for e in judged["report"]["flows"]}
    saved = {f.id: (f.metadata["cors_creds"]["verdict"], f.metadata["cors_creds"]["reason"])
             for f in judged["flows"] if "cors_creds" in f.metadata}
    assert saved == live_final
    assert not [f for f in judged["flows"]
                if f.metadata.get("cors_creds", {}).get("related", {}).get("awaiting_actual")]


def test_agreement_summary(judged, record_property):
    decided = [c for c in CASES if c.decidable]
    agree = sum(1 for c in decided if not problems_of(judged, c))
    hinted = sum(1 for c in CASES if not c.decidable and not problems_of(judged, c))
    line = (f"browser agreement: {agree}/{len(decided)} decidable cases, {hinted}/"
            f"{len(CASES) - len(decided)} undecidable cases hinted correctly, "
            f"{len(CASES)} cases in {judged['seconds']:.0f}s")
    SUMMARY.append(line)
    assert agree == len(decided)


SUMMARY: list[str] = []


# --- the fix loop: the remedy, applied on the wire, must make the browser read it all

REMEDY_APPLY = os.path.join(ROOT, "tests", "remedy_apply.py")


def needs_fixing(judged, case: Case) -> bool:
    b = judged["browser"][case.id]
    return not b["readable"] or bool(case.read_header and not b["header_readable"])


def decisive(entries: list[dict]) -> dict | None:
    """The finding whose remedy the user would follow: the first hidden one; else the
    last one with a remedy (a credentials hint, headers JavaScript cannot read)."""
    hidden = [e for e in entries if e["verdict"] == "hidden"]
    if hidden:
        return hidden[0]
    with_remedy = [e for e in entries if e.get("remedy")]
    return with_remedy[-1] if with_remedy else None


def fix_headers_step(f: dict) -> dict:
    """The per-flow fix_headers (what the addon offered before remedies) as one step on
    the response they blame: REMEDY_BASELINE=fix_headers measures how often it works."""
    lines = f["fix_headers"] or (f["if_credentialed"] or {}).get("fix_headers") or []
    return {"method": "OPTIONS" if f["role"] == "preflight" else f["method"], "url": f["url"],
            "status": 204 if any(line.startswith("HTTP/") for line in lines) else None,
            "set": [line for line in lines if not line.startswith("HTTP/")]}


def sends_credentials(case: Case) -> bool:
    return case.credentials == "include"


@pytest.fixture(scope="module")
def fixed(judged, world):
    """Every case the browser hid, again, with each remedy's steps applied by a test
    addon in the proxy (the steps only needed with credentials, when the page sends
    them)."""
    todo, steps, missing = [], [], []
    for case in CASES:
        if not needs_fixing(judged, case) or not case.fixable:
            continue
        todo.append(case)
        f = decisive(case_entries(judged["report"]["flows"], case))
        if f is None or not f.get("remedy") or not f["remedy"]["steps"]:
            missing.append(case.id)
            continue
        if os.environ.get("REMEDY_BASELINE") == "fix_headers":  # measure the old advice
            steps.append(fix_headers_step(f))
            continue
        steps += [s for s in f["remedy"]["steps"] if "if" not in s or sends_credentials(case)]
    rules, report = str(judged["tmp"] / "rules.json"), str(judged["tmp"] / "fixed.json")
    with open(rules, "w") as fh:
        json.dump(steps, fh)
    run = proxied_run(world, todo, report, "--set", f"remedy_rules={rules}",
                      before=(REMEDY_APPLY,))
    return {**run, "cases": todo, "missing": missing}


def test_remedy_fixes_every_hidden_case_in_one_go(fixed):
    failures = []
    for case in fixed["cases"]:
        b = fixed["browser"][case.id]
        if case.id in fixed["missing"]:
            failures.append(f"{case.id}: no remedy")
        elif not b["readable"]:
            failures.append(f"{case.id}: still hidden ({b['cors_error']})")
        elif case.read_header and not b["header_readable"]:
            failures.append(f"{case.id}: {case.read_header} still unreadable")
        else:
            addon = addon_view(case_entries(fixed["report"]["flows"], case), case)
            if not addon["readable"]:
                failures.append(f"{case.id}: fixed, but the addon still says "
                                f"{addon['cors_error']}")
    n = len(fixed["cases"])
    SUMMARY.append(f"remedy: {n - len(failures)}/{n} hidden cases fixed in one go")
    assert fixed["rc"] == 0 and "Traceback" not in fixed["output"]
    assert fixed["output"].count("[remedy] applied") >= n  # each case had a response changed
    assert n >= 50, n
    assert not failures, "\n".join(failures)


def test_unfixable_cases_say_why(judged):
    for case in CASES:
        if case.fixable:
            continue
        assert needs_fixing(judged, case), case.id
        f = decisive(case_entries(judged["report"]["flows"], case))
        assert f is not None and f["remedy"]["steps"] == [], case.id
        assert "by design" in f["remedy"]["note"], case.id
        assert case.read_header.lower() in f["hidden_headers"]


def test_every_header_hidden_case_names_its_header(judged):
    for case in CASES:
        b = judged["browser"][case.id]
        if case.read_header and b["readable"] and not b["header_readable"]:
            entries = case_entries(judged["report"]["flows"], case)
            actual = [e for e in entries if e["role"] == "actual"][-1]
            assert case.read_header.lower() in actual["hidden_headers"], case.id
            if case.fixable:  # and the remedy exposes it
                lines = [line.lower() for step in actual["remedy"]["steps"] for line in step["set"]]
                assert any(line.startswith("access-control-expose-headers:")
                           and case.read_header.lower() in line for line in lines), case.id


def test_remedies_carry_no_unsafe_line(judged):
    for entry in judged["report"]["flows"]:
        for step in (entry.get("remedy") or {}).get("steps", []):
            lines = [line.lower() for line in step["set"]]
            assert "access-control-allow-origin: null" not in lines, entry
            if "access-control-allow-origin: *" in lines:
                assert step.get("if") is None and entry["credentials_mode"] != "include", entry
                assert "access-control-allow-credentials: true" not in lines, entry
