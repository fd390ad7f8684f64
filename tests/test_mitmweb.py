"""mitmweb shows the findings where users look: a real mitmweb with the addon loads a
capture, and headless Chromium opens its UI and finds ⛔ and the comment on the right
rows (and nothing on the fine one). Set CORS_CREDS_SCREENSHOT=path to keep a
screenshot (the README's picture comes from there)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import pytest
from harness import MITMDUMP, har_entry, write_har
from test_browser import CHROMIUM_ARGS, chromium_path

from conftest import ADDON, ROOT

pytestmark = pytest.mark.browser

PAGE = "http://127.0.0.1:8000"
API = "http://127.0.0.2:9000"
PASSWORD = "testpw"  # mitmweb 12 requires a token; mitmweb 11 ignores the option
COLUMNS = ["icon", "path", "method", "status", "comment"]
MITMWEB = os.path.join(os.path.dirname(MITMDUMP), "mitmweb")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mitmweb(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mitmweb")
    common = [("Origin", PAGE), ("Sec-Fetch-Mode", "cors")]
    har = str(tmp / "capture.har")
    write_har(har, [
        har_entry("GET", f"{API}/api/me", common + [("Cookie", "sid=SECRET-MW")], 200,
                  [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")],
                  started="2026-11-24T10:00:00.000Z"),
        har_entry("GET", f"{API}/api/profile", common + [("Cookie", "sid=SECRET-MW")], 200,
                  [("Access-Control-Allow-Origin", PAGE)], started="2026-11-24T10:00:01.000Z"),
        har_entry("OPTIONS", f"{API}/api/items", common + [("Access-Control-Request-Method", "PUT")],
                  403, [("Access-Control-Allow-Origin", PAGE)], started="2026-11-24T10:00:02.000Z"),
        har_entry("GET", f"{API}/api/fine", common + [("Cookie", "sid=SECRET-MW")], 200,
                  [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")],
                  started="2026-11-24T10:00:03.000Z"),
    ])
    port = free_port()
    cmd = [MITMWEB, "--no-web-open-browser", "--web-host", "127.0.0.1", "--web-port", str(port),
           "--listen-host", "127.0.0.1", "--listen-port", "0", "-s", ADDON, "-r", har,
           "--set", f"web_password={PASSWORD}"]
    for c in COLUMNS:
        cmd += ["--set", f"web_columns={c}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    lines: list[str] = []
    ready = threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if "Web server listening" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(30) and proc.poll() is None, "".join(lines)
        yield {"base": f"http://127.0.0.1:{port}", "tmp": tmp, "lines": lines}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def get_flows(base: str) -> list[dict]:
    deadline = time.monotonic() + 15
    while True:
        req = urllib.request.Request(f"{base}/flows",
                                     headers={"Authorization": f"Bearer {PASSWORD}"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=5) as r:
            flows = json.load(r)
        if len(flows) >= 4 or time.monotonic() > deadline:
            return flows
        time.sleep(0.2)


def test_rest_api_carries_marker_and_comment(mitmweb):
    flows = {f["request"]["path"]: f for f in get_flows(mitmweb["base"])}
    assert flows["/api/me"]["marked"] == "⛔"
    assert flows["/api/me"]["comment"].startswith("CORS WildcardOriginNotAllowed")
    assert flows["/api/items"]["comment"].startswith("CORS PreflightInvalidStatus")
    assert flows["/api/fine"]["marked"] == "" and flows["/api/fine"]["comment"] == ""
    assert "SECRET-MW" not in json.dumps([f["comment"] for f in flows.values()])


def test_cors_contentview_over_rest(mitmweb):
    flows = {f["request"]["path"]: f for f in get_flows(mitmweb["base"])}
    fid = flows["/api/me"]["id"]
    req = urllib.request.Request(f"{mitmweb['base']}/flows/{fid}/response/content/cors.json",
                                 headers={"Authorization": f"Bearer {PASSWORD}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=5) as r:
        data = json.load(r)
    text = data.get("text") or "\n".join("".join(t for _, t in line) for line in data["lines"])
    assert "HIDDEN from JavaScript — WildcardOriginNotAllowed" in text
    assert "Access-Control-Allow-Origin: http://127.0.0.1:8000" in text  # fix, ready to paste
    assert "SECRET-MW" not in text


def test_ui_shows_marker_and_comment_on_the_right_rows(mitmweb):
    from playwright.sync_api import sync_playwright

    get_flows(mitmweb["base"])  # all loaded
    shot = str(mitmweb["tmp"] / "mitmweb.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 420})
            page.set_default_timeout(15_000)
            page.goto(f"{mitmweb['base']}/?token={PASSWORD}")
            page.wait_for_function(
                "() => document.querySelectorAll('.flow-table tbody tr td.col-comment').length >= 4")
            rows = page.eval_on_selector_all(
                ".flow-table tbody tr",
                "rows => rows.map(r => ({text: r.innerText,"
                " comment: (r.querySelector('td.col-comment') || {}).innerText || '',"
                " path: (r.querySelector('td.col-path') || {}).innerText || ''}))")
            page.screenshot(path=shot)
        finally:
            browser.close()
    by_path = {}
    for r in rows:
        m = re.search(r"/api/\w+", r["path"])
        if m:
            by_path[m.group(0)] = r
    assert set(by_path) >= {"/api/me", "/api/profile", "/api/items", "/api/fine"}, rows
    for path, reason in (("/api/me", "WildcardOriginNotAllowed"),
                         ("/api/profile", "InvalidAllowCredentials"),
                         ("/api/items", "PreflightInvalidStatus")):
        assert "⛔" in by_path[path]["path"], by_path[path]
        assert by_path[path]["comment"].startswith(f"CORS {reason}"), by_path[path]
    assert "⛔" not in by_path["/api/fine"]["text"] and by_path["/api/fine"]["comment"] == ""
    assert os.path.getsize(shot) > 10_000
    if os.environ.get("CORS_CREDS_SCREENSHOT"):
        shutil.copy(shot, os.environ["CORS_CREDS_SCREENSHOT"])
