"""A live soak through a real mitmdump: thousands of requests on many concurrent
connections from a load generator on loopback, with upstream errors and aborted
connections mixed in. No exception in the log, every CORS flow annotated, state
bounded. Sized to run in well under a minute; bounded in count and time."""

from __future__ import annotations

import asyncio
import re

import pytest
from harness import Mitmdump, read_flows
from loadgen import OriginServer, run_load

pytestmark = pytest.mark.e2e

TOTAL = 6000
CONCURRENCY = 100
TIME_LIMIT = 40.0
CAP = 64
ERRORS = [(4, "GET", "/drop", ["Origin: {o}", "Sec-Fetch-Mode: cors", "Cookie: sid=SOAKSECRET"]),
          (2, "GET", "/slow", ["Origin: {o}", "Sec-Fetch-Mode: cors"])]


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("soak") / "soak.mitm")
    with OriginServer() as origin:
        md = Mitmdump("--set", "flow_detail=0", "--set", f"cors_creds_max_entries={CAP}",
                      "--set", "cors_creds_preflight_wait=200", wfile=out)
        try:
            stats = asyncio.run(run_load(md.proxy_port, origin.port, TOTAL, CONCURRENCY,
                                         TIME_LIMIT, seed=42, extra_mix=ERRORS, abort_every=97))
        finally:
            rc = md.stop(timeout=60)
    return {"stats": stats, "rc": rc, "output": md.output, "flows": read_flows(out)}


def test_load_went_through(soak):
    st = soak["stats"]
    assert st.sent >= TOTAL * 0.9, st  # the time limit was not what ended it
    assert st.ok >= TOTAL * 0.8, st
    assert st.aborted > 0 and st.statuses.get(502, 0) > 0, st  # errors were mixed in


def test_no_exception_and_clean_exit(soak):
    out = soak["output"]
    assert soak["rc"] == 0
    assert "Traceback" not in out and "internal error" not in out
    assert "SOAKSECRET" not in out


def test_every_cors_flow_annotated(soak):
    cors = [f for f in soak["flows"]
            if f.response is not None and "Origin" in f.request.headers
            and not f.request.path.startswith("/plain")]
    assert len(cors) > TOTAL * 0.4
    missing = [f.request.path for f in cors if "cors_creds" not in f.metadata]
    assert not missing, missing[:10]
    hidden = [f for f in cors if f.metadata["cors_creds"]["verdict"] == "hidden"]
    assert hidden and all(f.marked == ":no_entry:" for f in hidden)
    reasons = {f.metadata["cors_creds"]["reason"] for f in hidden}
    assert {"WildcardOriginNotAllowed", "PreflightInvalidAllowCredentials"} <= reasons


def test_state_bounded_and_log_rate_limited(soak):
    m = re.search(r"correlation state (\d+) entries \(cap (\d+)\)", soak["output"])
    assert m, soak["output"][-3000:]
    assert int(m.group(2)) == CAP and int(m.group(1)) <= 3 * CAP
    full = soak["output"].count("CORS WildcardOriginNotAllowed:")
    assert full <= 3 * 5  # first few per (origin, API, reason), then counts only
    assert "[cors] ×100 " in soak["output"]
