"""Benchmarks: prints figures, asserts nothing. Run: bash .ci/bench [mp11|mp12] [--only …]

Headline figures (deterministic, or nearly):
1. instructions  machine instructions the addon adds per flow: whole `mitmdump -nr` runs
   under valgrind, this addon minus the no-op script, 4000 minus 1000 flows, mean of 3
   hash seeds (skipped without valgrind)
2. inprocess     µs a flow in the addon's hooks over a capture read into memory first
   (process time, best of 3 passes), with the garbage collector paused during each pass
   (the hooks' own work: the headline) and with it on
Beside them:
3. offline  mitmdump -nr of a generated capture: bare, a no-op script addon, this addon
   (wall and CPU time, interleaved rounds)
4. live     requests/s through mitmdump to a local server, realistic mix, bare vs addon
5. core     flows/s of the pure core alone, one core
6. memory   RSS after 1 M synthetic flows through the addon's hooks vs after the first 10 k
7. contrast (only with --only contrast) this addon next to a busy loop of the same
   in-process cost: what each costs in mitmdump -nr

Every figure that compares is a ratio of two variants measured in the same round (the
variants interleaved, their order reversed every other round), median over rounds. Live
and offline rounds also run the addon a second time: how far apart its two readings fall
is what the run can resolve on this shared machine.

Why whole-process ratios are not the headline (issue #6, each point measured on this
machine, 2 cores, shared):
- The same code reads differently from run to run: an A/A comparison (the addon against
  an identical copy, 10 interleaved rounds of 20,000 flows, CPU time) read 95.8 % and
  94.3 % of the no-op run, single rounds from 86 % to 104 %. The no-op script alone costs
  0-4 % of bare from run to run.
- The addon adds about 1.2 % to mitmdump's instructions but 4-7 % to its time: what costs
  is memory, not instructions. Its small functions, objects and dicts are touched once per
  flow after mitmproxy's own per-flow work (35 addons, six events) has pushed them out of
  the caches; valgrind's cache model prices the addon at 2-3.5 %.
- The same code costs more in place (--only contrast): a busy loop calibrated to the
  addon's in-process cost costs about 1.5x that in mitmdump -nr, the addon about 4x; the
  collector adds some µs a flow, the rest is mitmproxy's own work running slower around it.
- What did not move the time in mitmdump (interleaved runs, CPU time): batching update
  events, the collector off, tables capped at 64 entries instead of 4096, 20 extra small
  calls a flow, no metadata left on the flow, flows analysed in batches of 64. Findings
  remembered by an exchange signature took the hooks from 27 to 12 µs a flow in process,
  and moved the whole-process figure by less than the run could resolve: the redesign of
  issue #17 removed them (an lru_cache on each judgement is what is left).

What brought the figures down (the README has today's table): a finding is rendered once
and its metadata dict shared, read-only, by every flow with the same findings (an app
repeats its calls; only a flow that links to another, a preflight and its actual request,
gets a dict of its own around the shared one's values). Rendering was about 6 µs of a
flow's 20 in process, and copying a rendered dict costs more than building it: sharing it
took the instruction count from 160,356 to 125,551 a flow (mix, seed 1; cookie-heavy:
340,597 to 294,136), and the report's entries and mitmweb's flows hold one dict for many.
A preflight's finding comes from a memoized judgement, as an actual response's does; a
preflight waiting for its actual request holds its flow by a weak reference when nothing
else can see it (plain mitmdump: no addon handling `update`, no `-w` write held back), so
the flow is not carried into the collector's oldest generation; a request is read only
when a pending preflight awaits its method and URL path; the response's header names and
values are read in one pass, the URL built from the request's parts; and the analyzer
reads header values straight from the exchange's dicts. While a preflight waits, a request
with nothing due is ruled out by comparing its time with the oldest pending preflight's
(`State.due`) instead of going through the expiry calls, and the flow reader asks whether
every flow is wanted only of a flow without Origin or Cookie; with a few calls fewer
elsewhere (the probe check, origin_of, the report's engine) they took the instruction
count from 120,726 to 111,702 a flow (mix, seed 1) and the in-process figure from 17.1 to
15.4 µs. Tried and not kept: a table of raw header-name spellings (no gain in the
instruction count), the header names decoded through one joined string (none in process),
a flow handed to the core as itself rather than weakly when it cannot be a preflight
(112,386 to 123,556 instructions a flow: more, not fewer).

What the cookies cost on traffic without Set-Cookie: reading three more request headers
(`Referer`, `Sec-Fetch-Site`, `User-Agent`) and the ledger lookups; flows without `Origin` are
read only once some client's cookie is known. `--set cors_creds_cookies=false` turns it off.

What the engines and the security findings cost (#20, #21): the User-Agent's engine (cached
per value), each engine's words and notes on the finding, the passive security check of every
response with an `Access-Control-Allow-Origin` (an endpoint's origins looked up only when it
echoes one), one more response header read (`Cache-Control`) and a bigger metadata dict.
Every container a flow's metadata keeps counts: two empty lists a flow (`engine_notes`,
`security`, now absent when empty) were enough to trigger a full garbage collection each
in-process pass (44 µs a flow instead of 29; measured with `gc.callbacks`).

The previous design reached its figures with findings remembered by exchange signatures and
caches of origins, URL prefixes, methods and header names (27 µs a flow without them); the
redesign keeps one `lru_cache` on each judgement and reads every flow afresh.

Why the in-process headline pauses the collector (since 2026-12-03): the capture is held
in memory, 20,000 flows, and a full collection walks all of them (about 0.3 s, some 15 us
a flow of the pass it falls in; gc.callbacks); whether one falls in a pass depends on what
the passes before left, so the same code (0eb56a1) read 21.4 and 26.8 us on the mix on two
days, and 24.1 to 26.8 within an hour. Paused, it still moves by about ±1 µs from process
to process, whatever the hash seed: d4f8a77 read 14.9 to 16.8 µs on the mix in six
processes (hash seeds 1, 2, 3, twice each), best of 3 passes each. The collector's real cost for the addon is in the
instruction count, where no capture is held: mitmdump -nr frees each flow through the
collector (a flow is cyclic garbage, some 52 objects), and the containers of a flow's
metadata go with it (about 7 a CORS flow; they made 13 % more young collections over the
mix), while anything the addon keeps longer reaches the old generations (a pending
preflight holding its flow did: 3 full collections over 20,000 flows of the mix, the no-op
script 1; 2 once held weakly, 1 once its finding was shared from the memo).

Why the instruction count takes 4000 minus 1000 flows (until 2026-12-02: 1000 minus 10):
a full collection of the cyclic garbage collector walks every object mitmdump holds
(about 85,000, some 30 ms) and comes only every few thousand flows, so whether one falls
inside a 1000-flow run decides tens of thousands of instructions a flow. Measured: a
script that only imports this addon (no hook does anything) read +40,634 and +30,411
instructions a flow on the mix (hash seeds 1 and 2) over 1000 minus 10 flows: its
3,000 more objects tipped one full collection into the 1000-flow run that the no-op
script does not have (gc.callbacks: 1 against 0); over 4000 minus 1000 flows it read
-8,892 (the window still moves by about that much). The same run of 20,000 flows had
3 full collections with this addon and 1 with the no-op script: that is what a flow
costs in the collector, and the longer window counts it at about that rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "addon"))

from harness import MITMDUMP, Mitmdump  # noqa: E402
from loadgen import MIX, PAGE, OriginServer, run_load  # noqa: E402

from conftest import ADDON  # noqa: E402

NOOP = os.path.join(HERE, "noop_addon.py")
QUIET = ("--set", "flow_detail=0")


def split_cpus() -> tuple[set[int] | None, set[int] | None]:
    """mitmdump on one CPU, the load generator and the origin server on the others, so
    that the scheduler does not move them around between rounds (None: one CPU only)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return {cpus[0]}, set(cpus[1:])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The same addon run a second time in every round: how far apart two readings of one
# figure fall in this run is what the run can resolve (the machine is shared).
AGAIN = "again"


def live(runs: int, requests: int, concurrency: int) -> None:
    variants = {"bare": [], "noop": ["-s", NOOP], "addon": ["-s", ADDON], AGAIN: ["-s", ADDON]}
    rates = {k: [] for k in variants}
    per_cpu = {k: [] for k in variants}  # requests per CPU-second of mitmdump
    proxy_cpus, load_cpus = split_cpus()
    everything = os.sched_getaffinity(0)
    if load_cpus:
        os.sched_setaffinity(0, load_cpus)  # this process (the load generator) and the origin
        print(f"  mitmdump on CPU {sorted(proxy_cpus)}, load generator and origin server on "
              f"CPU {sorted(load_cpus)}", flush=True)
    try:
        _live_rounds(runs, requests, concurrency, variants, rates, per_cpu, proxy_cpus)
    finally:
        os.sched_setaffinity(0, everything)
    med = {k: statistics.median(v) for k, v in rates.items()}
    ratio = paired(rates, "addon", "bare")
    print(f"LIVE: bare {med['bare']:.0f} req/s, no-op script addon {med['noop']:.0f} "
          f"({paired(rates, 'noop', 'bare'):.1%} of bare), with this addon {med['addon']:.0f} = "
          f"{ratio:.1%} of bare (target >= 98%), {paired(rates, 'addon', 'noop'):.1%} of the "
          f"no-op run; medians of {runs} rounds, ratios within each round; addon/bare by "
          f"round: {', '.join(f'{a / b:.1%}' for a, b in zip(rates['addon'], rates['bare']))}",
          flush=True)
    print(f"LIVE per CPU-second of mitmdump (its own user+system time over the same loads, "
          f"steadier than wall time on a shared machine): bare {statistics.median(per_cpu['bare']):.0f} "
          f"req/CPU-s, no-op {paired(per_cpu, 'noop', 'bare'):.1%} of bare, with this addon "
          f"{paired(per_cpu, 'addon', 'bare'):.1%} of bare (target >= 98%); by round: "
          f"{', '.join(f'{a / b:.1%}' for a, b in zip(per_cpu['addon'], per_cpu['bare']))}",
          flush=True)
    resolution("LIVE", rates, per_cpu, "bare")


def _live_rounds(runs: int, requests: int, concurrency: int, variants: dict, rates: dict,
                 per_cpu: dict, proxy_cpus: set[int] | None) -> None:
    with OriginServer() as origin:
        for i in range(runs):
            order = list(variants) if i % 2 == 0 else list(reversed(variants))
            for kind in order:
                with Mitmdump(*QUIET, *variants[kind], addon=False, loopback_only=False,
                              cpus=proxy_cpus) as md:
                    asyncio.run(run_load(md.proxy_port, origin.port, 300, concurrency, 60, seed=99))
                    cpu = cpu_seconds(md.proc.pid)
                    st = asyncio.run(run_load(md.proxy_port, origin.port, requests, concurrency,
                                              300, seed=i))
                    cpu = cpu_seconds(md.proc.pid) - cpu
                rates[kind].append(st.rate)
                per_cpu[kind].append(st.ok / cpu)
                print(f"  live run {i + 1} {kind:5}: {st.rate:7.0f} req/s, {st.ok / cpu:5.0f} "
                      f"req/CPU-s ({st.ok} ok, {st.errors} errors)", flush=True)


def _children_cpu() -> float:
    """User + system CPU time of this process's finished children so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def paired(values: dict[str, list[float]], a: str, b: str) -> float:
    """The median over rounds of a/b measured in the same round: a slow or fast spell of
    the machine moves both, so it cancels (a ratio of medians would not cancel it)."""
    return statistics.median(x / y for x, y in zip(values[a], values[b]))


# What a browser and a typical server add around the CORS headers (for --only instructions).
BROWSER_REQUEST = [
    ("sec-ch-ua", '"Chromium";v="131", "Not_A Brand";v="24"'), ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", '"Linux"'),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/131.0.0.0 Safari/537.36"),
    ("Accept", "*/*"), ("Sec-Fetch-Site", "same-site"), ("Sec-Fetch-Dest", "empty"),
    ("Referer", PAGE + "/app/page"), ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Accept-Language", "en-US,en;q=0.9"), ("Connection", "keep-alive"),
]
SERVER_RESPONSE = [
    ("Date", "Tue, 24 Nov 2026 10:00:00 GMT"), ("Server", "nginx/1.27"),
    ("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store"),
    ("Vary", "Origin, Accept-Encoding"), ("ETag", 'W/"1a2b3c"'),
    ("X-Request-Id", "5f0c1d2e-3a4b-5c6d-7e8f-9a0b1c2d3e4f"),
    ("Strict-Transport-Security", "max-age=63072000"), ("Connection", "keep-alive"),
]


COOKIE_LINES = ["sid=S3CR3T-{n}; Path=/; Secure; HttpOnly; SameSite=Lax",
                "csrf=T0K3N-{n}; Path=/; Secure; SameSite=Strict",
                "prefs=dark; Path=/; Max-Age=31536000", "tracking=1; SameSite=None",
                "cart=x{n}; Path=/shop; Secure; SameSite=None; Partitioned"]


def mix_flow(rng: random.Random, i: int, t0: float = 0.0, browser: bool = False,
             cookies: bool = False):
    """A flow of the realistic mix, with the responses the loadgen server gives (with
    ``browser``, also the other headers a browser and a typical server send; with
    ``cookies``, the cookie-heavy mix: 50 clients, a login navigation setting five cookies
    every 20 flows, the page's own cookies on every request, some on cross-site ones)."""
    from mitmproxy.test import tflow, tutils

    if cookies:
        f = mix_flow(rng, i, t0, browser=True)
        client = i % 50
        f.client_conn.peername = (f"10.0.{client}.1", 40000 + client)
        f.request.headers["User-Agent"] = f"Mozilla/5.0 bench-client/{client} Chrome/156"
        f.request.headers["Cookie"] = f"sid=S3CR3T-{client}; csrf=T0K3N-{client}; prefs=dark"
        if i % 20 == 0:  # a login navigation on the API's own site
            f.request.url = f"http://127.0.0.2:9000/login?n={i}"
            f.request.method = "GET"
            for k in ("Origin", "Cookie"):
                f.request.headers.pop(k, None)
            f.request.headers["Sec-Fetch-Mode"] = "navigate"
            f.request.headers["Sec-Fetch-Site"] = "none"
            for line in COOKIE_LINES:
                f.response.headers.add("Set-Cookie", line.format(n=i))
        elif i % 7 == 0:  # a cross-site call that lost its cookies
            f.request.headers.pop("Cookie", None)
            f.request.headers["Origin"] = "https://app.other.test"
        return f

    _, method, path, headers = rng.choices(MIX, [m[0] for m in MIX])[0]
    f = tflow.tflow(resp=True)
    f.request = tutils.treq(method=method.encode(), headers=())
    f.request.url = f"http://127.0.0.2:9000{path}?n={i}"
    for h in headers:
        k, v = h.split(": ", 1)
        f.request.headers.add(k, v.replace("{o}", PAGE))
    f.request.timestamp_start = t0 + i * 0.01
    f.request.timestamp_end = t0 + i * 0.01 + 0.001
    f.response = tutils.tresp(status_code=204 if method == "OPTIONS" else 200, headers=())
    h = f.response.headers
    if path == "/cors/good" or (path == "/cors/pf-good" and method == "PUT"):
        h["Access-Control-Allow-Origin"] = PAGE
        h["Access-Control-Allow-Credentials"] = "true"
    elif path == "/cors/star":
        h["Access-Control-Allow-Origin"] = "*"
    elif path.startswith("/cors/pf"):
        h["Access-Control-Allow-Origin"] = PAGE
        h["Access-Control-Allow-Methods"] = "PUT"
        if path == "/cors/pf-good":
            h["Access-Control-Allow-Credentials"] = "true"
            h["Access-Control-Allow-Headers"] = "content-type"
    f.response.timestamp_start = t0 + i * 0.01 + 0.002
    f.response.timestamp_end = t0 + i * 0.01 + 0.003
    if browser:
        for k, v in BROWSER_REQUEST:
            if k not in f.request.headers:
                f.request.headers.add(k, v)
        for k, v in SERVER_RESPONSE:
            f.response.headers.add(k, v)
    return f


def make_capture(path: str, n: int, browser: bool = False, cookies: bool = False) -> None:
    from mitmproxy import io

    rng = random.Random(7)
    with open(path, "wb") as fh:
        w = io.FlowWriter(fh)
        for i in range(n):
            w.add(mix_flow(rng, i, 1_700_000_000.0, browser, cookies))


def offline(runs: int, flows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "big.mitm")
        t = time.monotonic()
        make_capture(cap, flows)
        print(f"  generated {flows} flows ({os.path.getsize(cap) / 1e6:.0f} MB) in "
              f"{time.monotonic() - t:.0f}s", flush=True)
        variants = {"bare": [], "noop": ["-s", NOOP], "addon": ["-s", ADDON],
                    AGAIN: ["-s", ADDON]}
        times = {k: [] for k in variants}
        cpu = {k: [] for k in variants}  # mitmdump's own user+system time
        for i in range(runs):
            # alternate the order, as live does: no variant always runs first or last
            for kind in (list(variants) if i % 2 == 0 else list(reversed(variants))):
                extra = variants[kind]
                before = _children_cpu()
                t = time.monotonic()
                p = subprocess.run([MITMDUMP, "-nr", cap, *QUIET, *extra], capture_output=True,
                                   text=True, timeout=1800)
                dt = time.monotonic() - t
                if p.returncode != 0:
                    print(p.stdout[-2000:], p.stderr[-2000:])
                    raise SystemExit(f"mitmdump -nr failed ({kind})")
                times[kind].append(dt)
                cpu[kind].append(_children_cpu() - before)
                print(f"  offline run {i + 1} {kind:5}: {dt:6.1f}s = {flows / dt:6.0f} flows/s, "
                      f"{cpu[kind][-1]:6.1f} CPU-s", flush=True)
        # in a process of its own, like the other variants (one mitmproxy test context each)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--breakdown-of", cap,
                        str(flows)], check=True, timeout=1800)
    med = {k: statistics.median(v) for k, v in times.items()}
    speed = {k: flows / v for k, v in med.items()}
    per_round = {k: [flows / t for t in v] for k, v in times.items()}
    print(f"OFFLINE ({flows} flows): bare {speed['bare']:.0f} flows/s, no-op addon "
          f"{speed['noop']:.0f} ({paired(per_round, 'noop', 'bare'):.1%} of bare), this addon "
          f"{speed['addon']:.0f} = {paired(per_round, 'addon', 'noop'):.1%} of the no-op run "
          f"(target >= 95%); medians of {runs} rounds, ratios within each round", flush=True)
    per_cpu = {k: [flows / t for t in v] for k, v in cpu.items()}
    print(f"OFFLINE per CPU-second of mitmdump (its own user+system time; steadier than wall "
          f"time when the machine is shared): no-op addon {paired(per_cpu, 'noop', 'bare'):.1%} "
          f"of bare, this addon {paired(per_cpu, 'addon', 'noop'):.1%} of the no-op run; by "
          f"round: {', '.join(f'{a / n:.1%}' for a, n in zip(per_cpu['addon'], per_cpu['noop']))}",
          flush=True)
    resolution("OFFLINE", per_round, per_cpu, "noop")


def resolution(label: str, speed: dict[str, list[float]], per_cpu: dict[str, list[float]],
               base: str) -> None:
    """The figure read twice: the same addon's second run in every round, against the same
    baseline. The gap between the two readings is what this run can tell apart."""
    first, second = paired(speed, "addon", base), paired(speed, AGAIN, base)
    cpu1, cpu2 = paired(per_cpu, "addon", base), paired(per_cpu, AGAIN, base)
    name = "no-op" if base == "noop" else base
    print(f"{label} resolution: the same addon run again in each round read {second:.1%} of "
          f"the {name} run against {first:.1%} the first time ({abs(first - second) * 100:.1f} "
          f"points apart); per CPU-second {cpu2:.1%} against {cpu1:.1%} "
          f"({abs(cpu1 - cpu2) * 100:.1f} points); second run by round: "
          f"{', '.join(f'{a / b:.1%}' for a, b in zip(speed[AGAIN], speed[base]))}", flush=True)


def _fresh_state(addon) -> None:
    """This addon as at start, as mitmdump runs it without a report file (counts only):
    a new analyzer and report, and every memo of the core emptied."""
    import corscore
    from corscore import Analyzer
    from corscore.report import Report

    addon.analyzer = Analyzer(max_entries=addon.analyzer.max_entries)
    addon.report = Report(max_flows=0)
    for name, module in vars(corscore).items():
        if name[:1] != "_" and isinstance(module, type(corscore)):
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def breakdown(cap: str, flows: int, runs: int = 3) -> None:
    """Where the offline cost goes, in this process: the capture read as mitmdump -nr
    reads it, with and without the addon's hooks; time inside the hooks, time in the
    cyclic garbage collector, and the rest (outside the hooks: the reading that follows
    runs slower)."""
    import gc

    from mitmproxy import io
    from mitmproxy.test import taddons

    import cors_creds

    gc_time = [0.0]
    started = [0.0]

    def on_gc(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            gc_time[0] += time.perf_counter() - started[0]

    def one(addon, hooks: bool) -> tuple[float, float, float]:
        _fresh_state(addon)
        gc.collect()
        gc_time[0] = inside = 0.0
        pc = time.perf_counter
        t0 = time.process_time()
        with open(cap, "rb") as fh:
            for f in io.FlowReader(fh).stream():
                if hooks:
                    t = pc()
                    addon.request(f)
                    addon.response(f)
                    inside += pc() - t
        addon.done()
        return time.process_time() - t0, inside, gc_time[0]

    addon = cors_creds.CorsCreds()
    gc.callbacks.append(on_gc)
    try:
        with taddons.context(addon):
            bare = [one(addon, False) for _ in range(runs)]
            full = [one(addon, True) for _ in range(runs)]
    finally:
        gc.callbacks.remove(on_gc)
    us = 1e6 / flows
    b = min(bare)
    f = min(full)
    inside = statistics.median(x[1] for x in full)
    extra = f[0] - b[0]
    gc_extra = statistics.median(x[2] for x in full) - statistics.median(x[2] for x in bare)
    print(f"  offline breakdown (in-process, best of {runs}): reading {b[0] * us:.0f} us/flow; "
          f"the addon adds {extra * us:.0f} us/flow = {inside * us:.0f} inside its hooks "
          f"+ {gc_extra * us:.0f} in the garbage collector + {(extra - inside - gc_extra) * us:.0f} "
          f"outside them (the reading that follows runs slower)", flush=True)


BUSY = os.path.join(HERE, "busy_addon.py")


class Listener:
    """An addon that handles ``update``, as mitmweb's and the console's view do."""

    def update(self, flows) -> None:
        pass


def _preloaded_cost(addon, cap: str, passes: int = 3, collector: tuple[bool, ...] = (True,),
                    listener: bool = False) -> list[float]:
    """Seconds a flow of an addon's hooks over the capture read into memory first: the
    addon's own work, without mitmdump around it; best of ``passes``, for each setting of
    ``collector`` (False: the cyclic garbage collector paused during the pass). The addon
    is started as mitmproxy starts it (its ``running`` hook, in the context's event
    loop): it then knows what else is loaded. Alone, as in mitmdump; with ``listener``,
    next to an addon that handles ``update``, as in mitmweb (this addon then announces
    every verdict settled later with an update event, and holds a pending preflight's
    flow itself). One test context for all passes (a context's log handler outlives
    it); this addon starts each pass with fresh state."""
    import gc

    from mitmproxy import io
    from mitmproxy.test import taddons

    async def start() -> None:
        addon.running()

    out = []
    with taddons.context(addon, *([Listener()] if listener else [])) as tctx:
        loop = tctx.master.event_loop
        if hasattr(addon, "running"):
            loop.run_until_complete(start())
        for on in collector:
            best = float("inf")
            for _ in range(passes):
                if hasattr(addon, "analyzer"):
                    _fresh_state(addon)
                with open(cap, "rb") as fh:
                    flows = list(io.FlowReader(fh).stream())
                if not on:
                    gc.collect()
                    gc.disable()
                try:
                    t = time.process_time()
                    for f in flows:
                        addon.request(f)
                        addon.response(f)
                    best = min(best, (time.process_time() - t) / len(flows))
                finally:
                    gc.enable()
            out.append(best)
        if hasattr(addon, "done"):
            addon.done()  # (stops its timer)
            loop.run_until_complete(asyncio.sleep(0))
    return out


def _busy(loops: int):
    """A fresh instance of tests/busy_addon.py's addon, spinning ``loops`` a CORS flow."""
    import importlib.util

    os.environ["CORS_BUSY_LOOPS"] = str(loops)
    spec = importlib.util.spec_from_file_location("busy_addon", BUSY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.addons[0]


def contrast(runs: int, flows: int) -> None:
    """This addon next to a busy loop that costs as much in-process: what each then costs
    in mitmdump -nr (CPU time over the no-op script's). Plain work costs in mitmdump
    about what it costs alone; the difference is what running among mitmproxy's own
    work adds to this addon's."""
    import cors_creds

    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "contrast.mitm")
        make_capture(cap, flows)
        addon_us = _preloaded_cost(cors_creds.CorsCreds(), cap)[0] * 1e6
        probe = 2000
        probe_us = _preloaded_cost(_busy(probe), cap)[0] * 1e6
        loops = max(1, round(probe * addon_us / probe_us))
        busy_us = _preloaded_cost(_busy(loops), cap)[0] * 1e6  # the env var is set for mitmdump too
        variants = {"noop": NOOP, "busy": BUSY, "addon": ADDON}
        cpu = {k: [] for k in variants}
        for i in range(runs):
            order = list(variants) if i % 2 == 0 else list(reversed(variants))
            for kind in order:
                before = _children_cpu()
                subprocess.run([MITMDUMP, "-nr", cap, *QUIET, "-s", variants[kind]],
                               capture_output=True, check=True, timeout=1800)
                cpu[kind].append(_children_cpu() - before)
            print(f"  contrast round {i + 1}: " + ", ".join(
                f"{k} {cpu[k][-1]:.2f}s" for k in variants), flush=True)
    in_md = {k: statistics.median(a - b for a, b in zip(cpu[k], cpu["noop"])) / flows * 1e6
             for k in ("busy", "addon")}
    print(f"CONTRAST ({flows} flows, {runs} rounds): in-process, capture read first, this "
          f"addon's hooks cost {addon_us:.1f} us/flow and a busy loop ({loops} iterations on "
          f"each flow with an Origin header) {busy_us:.1f} us/flow; in mitmdump -nr, CPU time "
          f"over the no-op script's (median of the rounds' differences): busy loop "
          f"{in_md['busy']:.1f} us/flow ({in_md['busy'] / busy_us:.1f}x), this addon "
          f"{in_md['addon']:.1f} us/flow ({in_md['addon'] / addon_us:.1f}x)", flush=True)


def instructions(flows: int, small: int = 1000, seeds: tuple[int, ...] = (1, 2, 3)) -> None:
    """Machine instructions the addon adds per flow, counted by valgrind in whole
    ``mitmdump -nr`` runs (deterministic for a given hash seed, so the mean over a few
    seeds): with this addon minus with the no-op script addon, each over ``flows`` flows
    minus the same over ``small`` (start-up and shutdown cancel; the module docstring says
    why not fewer). Everything the addon causes in mitmproxy is counted: its hooks, the
    events it sends, the collector. Optional: needs valgrind."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    if shutil.which("valgrind") is None:
        print("INSTRUCTIONS: skipped (valgrind is not installed)", flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:

        def count(script: str, cap: str, seed: int) -> int:
            out = os.path.join(tmp, f"cg.{os.path.basename(script)}.{os.path.basename(cap)}.{seed}")
            subprocess.run(
                ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--branch-sim=no",
                 f"--cachegrind-out-file={out}", sys.executable, MITMDUMP, "-nr", cap,
                 *QUIET, "-q", "-s", script],
                env={**os.environ, "PYTHONHASHSEED": str(seed)}, check=True,
                capture_output=True, timeout=1800)
            with open(out) as fh:
                return next(int(line.split()[1]) for line in fh if line.startswith("summary:"))

        for label, browser, cookies in (
                ("the mix as above", False, False),
                ("with a browser's and a server's other headers", True, False),
                ("the cookie-heavy mix", True, True)):
            caps = {}
            for n in (small, flows):
                caps[n] = os.path.join(tmp, f"{browser}.{cookies}.{n}.mitm")
                make_capture(caps[n], n, browser, cookies)
            jobs = [(script, n, seed) for seed in seeds for script in (NOOP, ADDON)
                    for n in (small, flows)]
            with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
                got = dict(zip(jobs, pool.map(lambda j: count(j[0], caps[j[1]], j[2]), jobs)))
            extra = [((got[ADDON, flows, s] - got[ADDON, small, s])
                      - (got[NOOP, flows, s] - got[NOOP, small, s])) / (flows - small)
                     for s in seeds]
            mean_noop = statistics.mean((got[NOOP, flows, s] - got[NOOP, small, s]) / (flows - small)
                                        for s in seeds)
            print(f"INSTRUCTIONS ({label}, mitmdump -nr of {flows} minus {small} flows, this "
                  f"addon minus the no-op script; target <= 1.5 % of mitmdump's own "
                  f"{mean_noop:,.0f}): {statistics.mean(extra):,.0f} instructions a flow (hash seeds "
                  f"{', '.join(map(str, seeds))}: {', '.join(f'{x:,.0f}' for x in extra)})",
                  flush=True)


def core(n: int) -> None:
    from corscore import Analyzer, Exchange
    from corscore.render import render

    rng = random.Random(3)
    weights = [m[0] for m in MIX]
    exchanges = []
    common = [("Host", "127.0.0.2:9000"), ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"),
              ("Accept", "*/*"), ("Accept-Encoding", "gzip, deflate, br"),
              ("Accept-Language", "en-US,en;q=0.9"), ("Referer", PAGE + "/")]
    for i in range(n):
        _, method, path, headers = rng.choices(MIX, weights)[0]
        req = common + [tuple(h.replace("{o}", PAGE).split(": ", 1)) for h in headers]
        resp = [("Content-Type", "application/json"), ("Content-Length", "30"),
                ("Date", "Tue, 24 Nov 2026 10:00:00 GMT"), ("Server", "bench")]
        if "cors" in path:
            resp.append(("Access-Control-Allow-Origin", "*" if "star" in path else PAGE))
            if "good" in path:
                resp.append(("Access-Control-Allow-Credentials", "true"))
        exchanges.append(Exchange.of(
            key=str(i), method=method, url=f"http://127.0.0.2:9000{path}?n={i}",
            request_headers=[(k.lower(), v) for k, v in req], status=200,
            response_headers=[(k.lower(), v) for k, v in resp], timestamp=i * 0.01))
    best = 0.0
    for _ in range(5):
        a = Analyzer()
        t = time.perf_counter()
        for ex in exchanges:
            a.request(ex)
            for u in a.response(ex):
                render(u.finding, "", u.cookies)
        dt = time.perf_counter() - t
        best = max(best, n / dt)
    print(f"CORE: {best:,.0f} flows/s (request + response + metadata per flow; best of 5 over "
          f"{n:,} flows of the mix; target >= 100,000)", flush=True)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory(total: int, cookies: bool = False) -> None:
    """RSS over ``total`` flows through the hooks. The addon keeps per-flow report entries
    here, as with a report file or in mitmweb (10,000, a flow's metadata each, some 2-3 KB):
    they reach their cap at about 15,000 flows of the mix, which is most of the growth after
    the first 10,000 (measured: the live objects stop growing between 10,000 and 20,000
    flows); after the first 100,000 the figure shows what is left, if anything."""
    from mitmproxy.test import taddons

    import cors_creds

    rng = random.Random(5)
    pool = [mix_flow(rng, j, cookies=cookies) for j in range(500)]
    addon = cors_creds.CorsCreds()
    marks = {}
    t = time.monotonic()
    with taddons.context(addon):
        for i in range(total):
            f = pool[i % len(pool)]
            f.id = str(i)
            f.request.timestamp_start = i * 0.01
            f.metadata.clear()
            if cookies:  # a new client every flow: 65,536 of them, the ledger capped
                f.client_conn.peername = (f"10.{(i >> 8) & 255}.{i & 255}.1", 40000)
            f.comment = ""
            f.marked = ""
            addon.request(f)
            addon.response(f)
            if i + 1 in (10_000, 100_000, total):
                marks[i + 1] = rss_mb()
        addon.done()
    dt = time.monotonic() - t
    base = marks[10_000]
    print(f"MEMORY{' (cookie-heavy mix, a new client every flow)' if cookies else ''}: RSS "
          + ", ".join(f"{k:,} flows {v:.1f} MB" for k, v in marks.items())
          + f"; growth after the first 10,000: {marks[total] - base:+.1f} MB (target <= +10 MB), "
          f"after the first 100,000: {marks[total] - marks[100_000]:+.1f} MB; "
          f"{total / dt:,.0f} flows/s through the hooks; state {len(addon.analyzer.state)} "
          f"entries, report {len(addon.report.flows)} flows, cookie ledger "
          f"{len(addon.analyzer.state.jars)} clients", flush=True)


def inprocess(flows: int) -> None:
    """µs a flow in this addon's hooks, over the mix read into memory first: alone, as
    in mitmdump (the collector paused, then on), and next to an addon handling update,
    as in mitmweb (the collector paused)."""
    with tempfile.TemporaryDirectory() as tmp:
        got = []
        for browser, cookies in ((False, False), (True, False), (True, True)):
            cap = os.path.join(tmp, f"inprocess.{browser}.{cookies}.mitm")
            make_capture(cap, flows, browser, cookies)
            # in a process of its own each (one mitmproxy test context per process: a
            # context's log handler outlives it)
            row = []
            for flag in ("--inprocess-of", "--inprocess-listened-of"):
                out = subprocess.run([sys.executable, os.path.abspath(__file__), flag, cap],
                                     check=True, timeout=1800, capture_output=True, text=True)
                row += [float(x) for x in out.stdout.split()[-2 if flag == "--inprocess-of" else -1:]]
            got.append(row)
    for i, what in enumerate((
            "alone, as in mitmdump, the collector paused during each pass: the hooks' own work",
            "alone, the collector on: a pass reads some us a flow more when a full collection "
            "of the flows held in memory falls in it",
            "next to an addon handling update, as in mitmweb, the collector paused: verdicts "
            "settled later are announced with update events")):
        print(f"IN-PROCESS (hooks over {flows:,} flows read into memory first, best of 3 passes, "
              f"{what}): {got[0][i]:.1f} us a flow on the mix; {got[1][i]:.1f} us with a "
              f"browser's and a server's other headers; {got[2][i]:.1f} us on the cookie-heavy "
              "mix", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", choices=["live", "offline", "core", "memory", "instructions",
                                       "inprocess", "contrast"],
                    action="append")
    ap.add_argument("--runs", type=int, default=3, help="offline rounds")
    ap.add_argument("--live-runs", type=int, default=5)
    ap.add_argument("--live-requests", type=int, default=6000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--offline-flows", type=int, default=50_000)
    ap.add_argument("--core-flows", type=int, default=100_000)
    ap.add_argument("--memory-flows", type=int, default=1_000_000)
    ap.add_argument("--instruction-flows", type=int, default=4000)
    ap.add_argument("--inprocess-flows", type=int, default=20_000)
    ap.add_argument("--contrast-flows", type=int, default=20_000)
    ap.add_argument("--contrast-runs", type=int, default=6)
    ap.add_argument("--breakdown-of", nargs=2, metavar=("CAPTURE", "FLOWS"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--inprocess-of", metavar="CAPTURE", help=argparse.SUPPRESS)
    ap.add_argument("--inprocess-listened-of", metavar="CAPTURE", help=argparse.SUPPRESS)
    ap.add_argument("--memory-cookies-of", type=int, metavar="FLOWS", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_cookies_of:
        memory(args.memory_cookies_of, cookies=True)
        return
    if args.inprocess_of:
        import cors_creds

        alone = _preloaded_cost(cors_creds.CorsCreds(), args.inprocess_of, collector=(False, True))
        print(*(x * 1e6 for x in alone))
        return
    if args.inprocess_listened_of:
        import cors_creds

        print(_preloaded_cost(cors_creds.CorsCreds(), args.inprocess_listened_of,
                              collector=(False,), listener=True)[0] * 1e6)
        return
    if args.breakdown_of:
        breakdown(args.breakdown_of[0], int(args.breakdown_of[1]))
        return
    import mitmproxy.version

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
          f"Python {platform.python_version()}, mitmproxy {mitmproxy.version.VERSION}", flush=True)
    only = args.only or ["instructions", "inprocess", "core", "memory", "live", "offline"]
    if "instructions" in only:
        instructions(args.instruction_flows)
    if "inprocess" in only:
        inprocess(args.inprocess_flows)
    if "core" in only:
        core(args.core_flows)
    if "memory" in only:
        memory(args.memory_flows)
        # in a process of its own (one mitmproxy test context per process)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-cookies-of",
                        str(args.memory_flows)], check=True, timeout=3600)
    if "live" in only:
        live(args.live_runs, args.live_requests, args.concurrency)
    if "offline" in only:
        offline(args.runs, args.offline_flows)
    if "contrast" in only:
        contrast(args.contrast_runs, args.contrast_flows)


if __name__ == "__main__":
    main()
