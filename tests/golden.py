"""Golden outputs: what the addon writes for fixed captures, recorded once and kept.

For each capture, ``mitmdump -nr CAPTURE -s addon/cors_creds.py -w OUT`` with a JSON, a
Markdown and an HTML report: every flow's ``metadata["cors_creds"]``, comment and marker,
the ``[cors]`` log lines (time prefix dropped) and the three reports. ``test_golden.py``
runs the same and compares; a change of behaviour shows there, line by line.

Captures:
- ``zoo``: generated here, deterministic (fixed seed, ids and times): random requests
  and responses over every header and value the checks read, odd bytes and duplicate
  lines included, preflights followed (or not) by their actual request, redirect chains,
  navigations, websockets, flows without a response;
- ``mix``: the benchmark's mix with a browser's and a server's other headers;
- ``browser``: tests/golden/browser.mitm, the browser suite's live capture
  (annotations stripped), committed.

Record (after a deliberate change of output only):  python tests/golden.py record
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from urllib.parse import urljoin

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GOLDEN = os.path.join(HERE, "golden")
ADDON = os.path.join(ROOT, "addon", "cors_creds.py")
MITMDUMP = os.path.join(os.path.dirname(sys.executable), "mitmdump")
CAPTURES = ("zoo", "mix", "browser")
REPORTS = (".json", ".md", ".html")

PAGES = ["http://127.0.0.1:8000", "https://app.example", "null", "http://127.0.0.1:8000/"]
APIS = ["http://127.0.0.2:9000", "https://api.example", "http://127.0.0.1:8000"]
PATHS = ["/data", "/me", "/items?id=1&token=SECRET-TOKEN", "/r1", "/r2", "/login#frag"]


def _pick(rng: random.Random, options: list, none: float = 0.0):
    return None if rng.random() < none else rng.choice(options)


def _zoo_request(rng: random.Random) -> tuple[str, str, list[tuple[bytes, bytes]]]:
    origin = rng.choice(PAGES)
    url = rng.choice(APIS) + rng.choice(PATHS)
    kind = rng.random()
    h: list[tuple[bytes, bytes]] = []
    if rng.random() > 0.05:
        h.append((rng.choice([b"Origin", b"origin", b"ORIGIN"]), origin.encode()))
    if rng.random() < 0.03:
        h.append((b"Origin", rng.choice([b"\xff\xfe", b"http://x", origin.encode()])))
    mode = _pick(rng, [b"cors", b"cors", b"cors", b"navigate", b"no-cors", b"CORS"], 0.3)
    if mode:
        h.append((b"Sec-Fetch-Mode", mode))
    if rng.random() < 0.1:
        h.append((b"Sec-Fetch-Dest", rng.choice([b"document", b"empty", b"iframe"])))
    if rng.random() < 0.08:
        h.append((b"Accept", rng.choice([b"text/html,*/*", b"*/*", b"application/json"])))
    if rng.random() < 0.04:
        h.append((b"Upgrade-Insecure-Requests", b"1"))
    if rng.random() < 0.03:
        h.append((b"Upgrade", b"websocket"))
    if kind < 0.35:
        method = "OPTIONS"
        h.append((b"Access-Control-Request-Method",
                  rng.choice([b"PUT", b"DELETE", b"GET", b"POST", b"patch", b"PATCH", b" PUT "])))
        acrh = _pick(rng, [b"content-type", b"authorization", b"x-a, x-b", b"Content-Type,X-Token",
                           b"authorization,content-type", b"x-\xff"], 0.3)
        if acrh:
            h.append((b"Access-Control-Request-Headers", acrh))
        if rng.random() < 0.05:
            h.append((b"Access-Control-Request-Private-Network", b"true"))
    else:
        method = rng.choice(["GET", "GET", "POST", "PUT", "DELETE", "patch", "HEAD", "CONNECT"])
        if rng.random() < 0.45:
            h.append((b"Cookie", rng.choice([b"sid=SECRET-COOKIE; theme=dark", b"sid=1",
                                             b"\xc3\x28=\xff", b"=novalue", b"a=1; a=2"])))
            if rng.random() < 0.1:
                h.append((b"cookie", b"second=SECRET-2"))
        if rng.random() < 0.15:
            h.append((b"Authorization", rng.choice([b"Bearer SECRET-BEARER", b"Basic dXNlcjpwdw==",
                                                    b"SECRET-RAW", b"Negotiate abc"])))
    return method, url, h


def _good_response(rng: random.Random, origin: bytes, method: str,
                   acrh: bytes | None) -> tuple[int, list[tuple[bytes, bytes]]]:
    """A response that mostly passes: the checks past the origin get their turn."""
    status = rng.choice([200, 204, 204, 302, 401])
    h = [(b"Access-Control-Allow-Origin", origin if rng.random() < 0.9 else b"*")]
    if rng.random() < 0.6:
        h.append((b"Access-Control-Allow-Credentials", b"true"))
    if method == "OPTIONS":
        if rng.random() < 0.8:
            h.append((b"Access-Control-Allow-Methods", rng.choice([b"PUT, DELETE, PATCH", b"*"])))
        if acrh and rng.random() < 0.8:
            h.append((b"Access-Control-Allow-Headers", rng.choice([acrh, b"*"])))
        if rng.random() < 0.3:
            h.append((b"Access-Control-Max-Age", rng.choice([b"0", b"600"])))
    elif rng.random() < 0.2:
        h += [(b"Access-Control-Expose-Headers", rng.choice([b"*", b"X-Total-Count"])),
              (b"X-Total-Count", b"42"), (b"Cache-Control", b"no-store")]
    if status == 302:
        h.append((b"Location", rng.choice([b"/r2", b"http://127.0.0.2:9000/data",
                                           b"https://api.example/me"])))
    return status, h


def _zoo_response(rng: random.Random, origin: bytes) -> tuple[int, list[tuple[bytes, bytes]]]:
    status = rng.choice([200, 200, 200, 204, 204, 301, 302, 303, 307, 401, 403, 404, 500])
    h: list[tuple[bytes, bytes]] = []
    acao = _pick(rng, [origin, origin, b"*", b"null", b"https://other.example", origin + b"/",
                       origin + b", " + origin, b"not a url", origin.upper(), b"\x80"], 0.2)
    if acao is not None:
        h.append((rng.choice([b"Access-Control-Allow-Origin", b"access-control-allow-origin"]), acao))
        if rng.random() < 0.04:
            h.append((b"Access-Control-Allow-Origin", origin))
    acac = _pick(rng, [b"true", b"true", b"TRUE", b"false", b" true ", b""], 0.35)
    if acac is not None:
        h.append((b"Access-Control-Allow-Credentials", acac))
    acam = _pick(rng, [b"PUT", b"GET, PUT, DELETE", b"*", b"put", b"PUT DELETE", b"PATCH"], 0.4)
    if acam is not None:
        h.append((b"Access-Control-Allow-Methods", acam))
    acah = _pick(rng, [b"content-type", b"*", b"Content-Type, Authorization", b"x-a, x-b",
                       b"x-a x-b", b"authorization"], 0.4)
    if acah is not None:
        h.append((b"Access-Control-Allow-Headers", acah))
    if rng.random() < 0.2:
        h.append((b"Access-Control-Expose-Headers", rng.choice(
            [b"*", b"X-Total-Count", b"x-total-count, etag", b"bad header", b"*, X-A"])))
        h.append((b"X-Total-Count", b"42"))
        h.append((b"ETag", b'"e1"'))
    if rng.random() < 0.15:
        h.append((b"Access-Control-Max-Age", rng.choice([b"0", b"600", b"-1", b"junk", b"99999"])))
    if rng.random() < 0.03:
        h.append((b"Access-Control-Allow-Private-Network", b"true"))
    if 300 <= status < 400 and rng.random() < 0.85:
        h.append((b"Location", rng.choice([
            b"/r2", b"http://127.0.0.2:9000/data", b"https://api.example/me",
            b"http://user:SECRET-PW@127.0.0.2:9000/data", b"https://login.example/?next=x",
            b"/login"])))
    if rng.random() < 0.03:
        h.append((b"", b""))
    h.append((b"Content-Type", b"application/json"))
    return status, h


def zoo_flows(n: int = 2500, seed: int = 17):
    """The zoo capture's flows, in time order."""
    from mitmproxy import http
    from mitmproxy.test import tflow, tutils

    rng = random.Random(seed)
    ts = 1_700_000_000.0
    recent: list[tuple[str, str, str]] = []  # preflights, to send their actual request
    hops: list[tuple[str, str, str]] = []  # redirects, to follow
    for i in range(n):
        ts += rng.choice([0.001, 0.01, 0.05, 0.3, 1.0, 2.5, 4.0])
        if hops and rng.random() < 0.7:  # the next hop of a redirect
            origin, url, method = hops.pop(0)
            h = [(b"Origin", origin.encode()), (b"Sec-Fetch-Mode", b"cors")]
            if rng.random() < 0.4:
                h.append((b"Cookie", b"sid=SECRET-COOKIE"))
        elif recent and rng.random() < 0.5:  # the actual request after a preflight
            origin, url, method = recent.pop(0)
            h = [(b"Origin", origin.encode()), (b"Sec-Fetch-Mode", b"cors")]
            if rng.random() < 0.3:
                h.append((b"Cookie", b"sid=SECRET-COOKIE"))
            if rng.random() < 0.2:
                h.append((b"Authorization", b"Bearer SECRET-BEARER"))
        else:
            method, url, h = _zoo_request(rng)
            if method == "OPTIONS":
                acrm = dict((k.lower(), v) for k, v in h).get(b"access-control-request-method")
                origin = dict((k.lower(), v) for k, v in h).get(b"origin", b"").decode("latin-1")
                recent.append((origin, url, acrm.decode("latin-1").strip()))
                recent = recent[-5:]
        f = tflow.tflow(resp=True, ws=rng.random() < 0.02)
        f.id = f"zoo-{i:05d}"
        f.request = tutils.treq(method=method.encode(), headers=())
        f.request.url = url
        f.request.headers.fields = tuple(h)
        f.request.timestamp_start = ts
        f.request.timestamp_end = ts + 0.001
        if rng.random() < 0.02:
            f.request.http_version = "HTTP/2.0"
        if rng.random() < 0.03:
            f.response = None
        else:
            req = dict((k.lower(), v) for k, v in h)
            origin = req.get(b"origin", b"http://127.0.0.1:8000")
            if rng.random() < 0.4:
                status, rh = _good_response(rng, origin, method,
                                            req.get(b"access-control-request-headers"))
            else:
                status, rh = _zoo_response(rng, origin)
            loc = dict((k.lower(), v) for k, v in rh).get(b"location")
            if loc is not None and 300 <= status < 400 and method != "OPTIONS":
                nxt = urljoin(url, loc.decode("latin-1"))
                same = nxt.split("/")[:3] == url.split("/")[:3]
                hops.append((origin.decode("latin-1") if same else "null", nxt,
                             "GET" if status == 303 or (status in (301, 302) and method == "POST")
                             else method))
                hops = hops[-3:]
            f.response = tutils.tresp(status_code=status, headers=())
            f.response.headers.fields = tuple(rh)
            f.response.timestamp_start = ts + 0.002
            f.response.timestamp_end = ts + 0.003
        assert isinstance(f, http.HTTPFlow)
        yield f


def mix_flows(n: int = 600):
    sys.path.insert(0, HERE)
    from benchmark import mix_flow

    rng = random.Random(7)
    for i in range(n):
        f = mix_flow(rng, i, 1_700_000_000.0, browser=True)
        f.id = f"mix-{i:05d}"
        yield f


def write_capture(name: str, path: str) -> None:
    from mitmproxy import io

    if name == "browser":
        with open(os.path.join(GOLDEN, "browser.mitm"), "rb") as src, open(path, "wb") as dst:
            dst.write(src.read())
        return
    flows = zoo_flows() if name == "zoo" else mix_flows()
    with open(path, "wb") as fh:
        w = io.FlowWriter(fh)
        for f in flows:
            w.add(f)


_TIME = re.compile(r"^\[\d\d:\d\d:\d\d\.\d{3}\] ")


def outputs(name: str, workdir: str) -> dict[str, str]:
    """Every output of the addon for one capture, as text: name -> content."""
    from mitmproxy import io

    cap = os.path.join(workdir, f"{name}.mitm")
    write_capture(name, cap)
    out: dict[str, str] = {}
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONHASHSEED="0")
    for i, ext in enumerate(REPORTS):
        report = os.path.join(workdir, f"{name}.report{ext}")
        wfile = os.path.join(workdir, f"{name}.out.mitm")
        args = [MITMDUMP, "-nr", cap, "-s", ADDON, "--set", f"cors_creds_report={report}",
                "--set", "flow_detail=0"]
        if i == 0:
            args += ["-w", wfile]
        p = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
        if p.returncode != 0:
            raise RuntimeError(f"mitmdump -nr {name} failed:\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
        with open(report, encoding="utf-8") as fh:
            out[f"report{ext}"] = fh.read()
        if i == 0:
            lines = [_TIME.sub("", line) for line in (p.stdout + p.stderr).splitlines()
                     if "[cors]" in line]
            out["log.txt"] = "\n".join(lines).replace(workdir, "WORKDIR") + "\n"
            with open(wfile, "rb") as fh:
                flows = [{"id": f.id, "marked": f.marked, "comment": f.comment,
                          "cors_creds": f.metadata.get("cors_creds")}
                         for f in io.FlowReader(fh).stream()]
            flows.sort(key=lambda f: f["id"])  # the order Save writes them in varies
            out["flows.json"] = json.dumps(flows, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    return out


def golden_path(name: str, part: str) -> str:
    return os.path.join(GOLDEN, f"{name}.{part}.gz")


def recorded(name: str, part: str) -> str:
    with gzip.open(golden_path(name, part), "rt", encoding="utf-8") as fh:
        return fh.read()


def record() -> None:
    os.makedirs(GOLDEN, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in CAPTURES:
            for part, text in outputs(name, tmp).items():
                # mtime 0: the same output gives the same file
                with open(golden_path(name, part), "wb") as raw, \
                        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
                    fh.write(text.encode("utf-8"))
                print(f"recorded {golden_path(name, part)} ({len(text)} chars)")


def strip_capture(src: str, dst: str) -> None:
    """A live capture made a golden input: our annotations removed, everything else kept."""
    from mitmproxy import io

    with open(src, "rb") as fh:
        flows = list(io.FlowReader(fh).stream())
    with open(dst, "wb") as fh:
        w = io.FlowWriter(fh)
        for f in flows:
            f.metadata.pop("cors_creds", None)
            f.comment = ""
            f.marked = ""
            w.add(f)


if __name__ == "__main__":
    if sys.argv[1:2] == ["record"]:
        record()
    elif sys.argv[1:2] == ["strip"]:
        strip_capture(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
