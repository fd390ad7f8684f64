"""End-to-end: a real mitmdump with the addon, real local servers, a real HTTP client."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from harness import Mitmdump, Route, Server, har_entry, read_flows, run_offline, write_har

pytestmark = pytest.mark.e2e

PAGE = "http://127.0.0.1:8000"  # the page origin the client claims; nothing listens there
COOKIE_SECRET = "SECRET-COOKIE-7f3a"
TOKEN_SECRET = "SECRET-TOKEN-91bc"
CRED = [("Cookie", f"sid={COOKIE_SECRET}; theme=dark")]
R = Route


def acao(v=PAGE):
    return ("Access-Control-Allow-Origin", v)


ACAC = ("Access-Control-Allow-Credentials", "true")

# name: (method, request headers, route, expected verdict, expected reason)
CASES = {
    "wildcard": ("GET", CRED, R(200, [acao("*"), ACAC]), "hidden", "WildcardOriginNotAllowed"),
    "noacac": ("GET", CRED, R(200, [acao()]), "hidden", "InvalidAllowCredentials"),
    "acac-upper": ("GET", CRED, R(200, [acao(), ("Access-Control-Allow-Credentials", "TRUE")]),
                   "hidden", "InvalidAllowCredentials"),
    "acac-twice": ("GET", CRED, R(200, [acao(), ACAC, ACAC]), "hidden", "InvalidAllowCredentials"),
    "missing": ("GET", CRED, R(200, []), "hidden", "MissingAllowOriginHeader"),
    "multiple": ("GET", CRED, R(200, [acao(), acao(), ACAC]), "hidden", "MultipleAllowOriginValues"),
    "invalid": ("GET", CRED, R(200, [acao(""), ACAC]), "hidden", "InvalidAllowOriginValue"),
    "mismatch": ("GET", CRED, R(200, [acao(PAGE + "/"), ACAC]), "hidden", "AllowOriginMismatch"),
    "null": ("GET", CRED, R(200, [acao("null"), ACAC]), "hidden", "AllowOriginMismatch"),
    "http-auth": ("GET", [("Authorization", f"Basic {TOKEN_SECRET}")], R(200, [acao()]),
                  "hidden", "InvalidAllowCredentials"),
    "fine": ("GET", CRED, R(200, [acao(), ("Access-Control-Allow-Credentials", " true ")]),
             "exposed", None),
    "fine-500": ("GET", CRED, R(500, [acao(), ACAC]), "exposed", None),
    "no-creds-star": ("GET", [], R(200, [acao("*")]), "exposed", None),
    "preflight-403": ("OPTIONS", [("Access-Control-Request-Method", "PUT")],
                      R(403, [acao(), ACAC, ("Access-Control-Allow-Methods", "PUT")]),
                      "hidden", "PreflightInvalidStatus"),
}


def send(proxy: str, api: str, name: str, method: str, headers, cors: bool = True):
    req = urllib.request.Request(f"{api}/{name}", method=method)
    if cors:
        req.add_header("Origin", PAGE)
        req.add_header("Sec-Fetch-Mode", "cors")
    for k, v in headers:
        req.add_header(k, v)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, sorted(r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, sorted(e.headers.items()), e.read()


def exercise(md: Mitmdump, api: Server):
    got = {}
    for name, (method, headers, route, *_ ) in CASES.items():
        api.routes[(method, "/" + name)] = route
        got[name] = send(md.proxy_url, api.origin, name, method, headers)
    api.routes["/plain"] = R(200, [])
    got["plain"] = send(md.proxy_url, api.origin, "plain", "GET", CRED, cors=False)
    return got


@pytest.fixture(scope="module")
def live_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    out = str(tmp / "live.mitm")
    with Server() as api:
        with Mitmdump(addon=False) as bare:
            bare_responses = exercise(bare, api)
        bare_received = list(api.received)
        api.received.clear()
        md = Mitmdump(wfile=out)
        try:
            responses = exercise(md, api)
        finally:
            rc = md.stop()
        received = list(api.received)
    return {
        "rc": rc, "output": md.output, "flows": read_flows(out), "path": out, "tmp": tmp,
        "responses": responses, "received": received,
        "bare_responses": bare_responses, "bare_received": bare_received,
    }


def by_name(flows):
    return {f.request.path.lstrip("/"): f for f in flows}


def test_live_run_exits_cleanly(live_run):
    assert live_run["rc"] == 0, live_run["output"]
    assert "Traceback" not in live_run["output"]
    assert "internal error" not in live_run["output"]


@pytest.mark.parametrize("name", CASES)
def test_live_annotations(live_run, name):
    f = by_name(live_run["flows"])[name]
    _, _, _, verdict, reason = CASES[name]
    md = f.metadata["cors_creds"]
    assert (md["verdict"], md["reason"]) == (verdict, reason)
    if verdict == "hidden":
        assert f.marked == ":no_entry:"
        assert f.comment.startswith(f"CORS {reason}: ")
        assert " — " in f.comment  # the fix follows the reason
        assert f"CORS {reason}" in live_run["output"]  # one log line per finding
    else:
        assert f.marked == "" and f.comment == ""


def test_no_creds_star_carries_the_hint(live_run):
    md = by_name(live_run["flows"])["no-creds-star"].metadata["cors_creds"]
    assert md["if_credentialed"]["reason"] == "WildcardOriginNotAllowed"


def test_non_cors_flow_untouched(live_run):
    f = by_name(live_run["flows"])["plain"]
    assert "cors_creds" not in f.metadata and not f.marked and not f.comment


def test_traffic_identical_with_and_without_addon(live_run):
    assert live_run["received"] == live_run["bare_received"]
    assert live_run["responses"] == live_run["bare_responses"]
    # and the client saw exactly what the server sent
    assert live_run["responses"]["multiple"][2] == b"payload"


def test_no_secret_in_output_or_annotations(live_run):
    assert COOKIE_SECRET not in live_run["output"] and TOKEN_SECRET not in live_run["output"]
    for f in live_run["flows"]:
        text = repr(f.metadata) + f.comment
        assert COOKIE_SECRET not in text and TOKEN_SECRET not in text


def test_offline_rerun_of_saved_flows_gives_same_annotations(live_run):
    out = str(live_run["tmp"] / "again.mitm")
    rc, output = run_offline(live_run["path"], out)
    assert rc == 0, output
    first = {n: (f.marked, f.comment, f.metadata.get("cors_creds", {}).get("reason"))
             for n, f in by_name(live_run["flows"]).items()}
    again = {n: (f.marked, f.comment, f.metadata.get("cors_creds", {}).get("reason"))
             for n, f in by_name(read_flows(out)).items()}
    assert again == first


def test_offline_har(tmp_path):
    api = "http://127.0.0.2:9000"
    common = [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")]
    entries = [
        har_entry("GET", f"{api}/star", common + CRED, 200, [acao("*"), ACAC]),
        har_entry("GET", f"{api}/fine", common + CRED, 200, [acao(), ACAC]),
        har_entry("GET", f"{api}/noacac", common + CRED, 200, [acao()]),
        har_entry("GET", f"{PAGE}/index.html", [("Sec-Fetch-Mode", "navigate")], 200, []),
    ]
    har = str(tmp_path / "capture.har")
    write_har(har, entries)
    out = str(tmp_path / "annotated.mitm")
    rc, output = run_offline(har, out)
    assert rc == 0, output
    flows = {f.request.path: f for f in read_flows(out)}
    assert flows["/star"].metadata["cors_creds"]["reason"] == "WildcardOriginNotAllowed"
    assert flows["/star"].marked == ":no_entry:"
    assert flows["/noacac"].comment.startswith("CORS InvalidAllowCredentials")
    assert flows["/fine"].metadata["cors_creds"]["verdict"] == "exposed"
    assert not flows["/fine"].marked
    assert "cors_creds" not in flows["/index.html"].metadata
    assert COOKIE_SECRET not in output
    assert "WildcardOriginNotAllowed" in output


def test_offline_settles_pending_preflights_before_writing(tmp_path):
    """A preflight that fails only with credentials is decided by the flows after it:
    in -nr ... -w the final verdict is in the saved flow itself."""
    api = "http://127.0.0.1:9000"
    common = [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")]
    pf_req = common + [("Access-Control-Request-Method", "PUT")]
    pf_resp = [acao(), ("Access-Control-Allow-Methods", "PUT")]  # no ACAC
    entries = [
        # followed by its PUT: the page did not ask for credentials, fine
        har_entry("OPTIONS", f"{api}/followed", pf_req, 204, pf_resp,
                  started="2026-11-24T10:00:00.000Z"),
        har_entry("PUT", f"{api}/followed", common, 200, [acao()],
                  started="2026-11-24T10:00:00.100Z"),
        # never followed: a credentialed PUT the browser blocked
        har_entry("OPTIONS", f"{api}/blocked", pf_req, 204, pf_resp,
                  started="2026-11-24T10:00:01.000Z"),
        har_entry("GET", f"{api}/unrelated", common, 200, [acao("*")],
                  started="2026-11-24T10:00:01.200Z"),
        # the last flow of the file, never followed
        har_entry("OPTIONS", f"{api}/last", pf_req, 204, pf_resp,
                  started="2026-11-24T10:00:09.000Z"),
    ]
    har = str(tmp_path / "pf.har")
    write_har(har, entries)
    out = str(tmp_path / "pf.mitm")
    rc, output = run_offline(har, out)
    assert rc == 0, output
    flows = {(f.request.method, f.request.path): f for f in read_flows(out)}
    followed = flows[("OPTIONS", "/followed")]
    assert followed.metadata["cors_creds"]["verdict"] == "exposed"
    assert followed.metadata["cors_creds"]["related"]["actual_followed"] is True
    assert not followed.marked
    for path in ("/blocked", "/last"):
        f = flows[("OPTIONS", path)]
        md = f.metadata["cors_creds"]
        assert (md["verdict"], md["reason"], md["confidence"]) == (
            "hidden", "PreflightInvalidAllowCredentials", "inferred")
        assert f.marked == ":no_entry:"
        assert "will not send the PUT" in f.comment


def test_live_pending_preflight_is_decided_while_running(tmp_path):
    """No actual request follows: the verdict arrives after cors_creds_preflight_wait,
    while the proxy runs (mitmweb shows it live), and -w saves the final verdict."""
    out = str(tmp_path / "live.mitm")
    pf = [("Access-Control-Request-Method", "PUT")]
    with Server() as api:
        for path in ("/pending", "/followed"):
            api.routes[("OPTIONS", path)] = R(204, [acao(), ("Access-Control-Allow-Methods", "PUT")])
        api.routes[("PUT", "/followed")] = R(200, [acao()])
        with Mitmdump("--set", "cors_creds_preflight_wait=300", wfile=out) as md:
            send(md.proxy_url, api.origin, "pending", "OPTIONS", pf)
            send(md.proxy_url, api.origin, "followed", "OPTIONS", pf)
            send(md.proxy_url, api.origin, "followed", "PUT", [])
            assert md.wait_for(r"CORS PreflightInvalidAllowCredentials", timeout=10), md.output
            assert md.proc.poll() is None  # decided while running
        assert md.proc.returncode == 0, md.output
    flows = {(f.request.method, f.request.path): f for f in read_flows(out)}
    assert len(flows) == 3
    blocked = flows[("OPTIONS", "/pending")]
    assert blocked.marked == ":no_entry:"
    assert blocked.metadata["cors_creds"]["reason"] == "PreflightInvalidAllowCredentials"
    fine = flows[("OPTIONS", "/followed")].metadata["cors_creds"]
    assert fine["verdict"] == "exposed" and fine["related"]["actual_followed"] is True


@pytest.mark.parametrize("kind", ["truncated-mitm", "har-missing-fields", "not-json"])
def test_malformed_capture_gives_a_clear_message(tmp_path, kind):
    path = str(tmp_path / ("c.mitm" if kind == "truncated-mitm" else "c.har"))
    if kind == "truncated-mitm":
        good = str(tmp_path / "good.har")
        write_har(good, [har_entry("GET", f"http://127.0.0.2:9000/r{i}", [], 200, [])
                         for i in range(5)])
        assert run_offline(good, path)[0] == 0
        data = open(path, "rb").read()
        open(path, "wb").write(data[:-50])
        expect = "the file is truncated: 4 complete flows"
    elif kind == "har-missing-fields":
        entry = har_entry("GET", "http://127.0.0.2:9000/x", [], 200, [])
        del entry["response"]["headers"]
        write_har(path, [entry])
        expect = "entry 0 has no response.headers"
    else:
        open(path, "w").write("{not json")
        expect = "not valid JSON"
    rc, output = run_offline(path, str(tmp_path / "out.mitm"))
    assert rc == 1  # an unreadable input is an error
    assert expect in output
    assert "Traceback" not in output
