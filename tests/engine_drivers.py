"""Drivers for the other engines the browser suite asks: Firefox ESR over WebDriver BiDi
and WebKitGTK's MiniBrowser under Xvfb (how both were made to work offline here:
../shared/engines-observed.md). Each runs one case's page script and gives back what
JavaScript saw and what the engine printed on its console about CORS.

Every process is started here and stopped by PID; every wait is bounded."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
MINIBROWSER = next((p for p in (
    "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.0/MiniBrowser",
    "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.0/MiniBrowser",
) if os.access(p, os.X_OK)), None)
XVFB = shutil.which("Xvfb")
RESULT = "CORSCREDS-RESULT "  # the page logs its outcome with this prefix


def _alive_in_group(pgid: int) -> bool:
    """Whether a process of this group is still running (not a zombie: a zombie holds
    no file descriptor, so no connection, and only waits for PID 1 to reap it)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()  # after "pid (comm)": state, ppid, pgrp, …
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _stop(proc: subprocess.Popen, timeout: float = 10.0, zombies_ok: bool = False) -> None:
    """Stop a process group started with start_new_session, by PID: the leader first
    (SIGTERM, then SIGKILL), then whatever of the group lingers (a browser's helper
    processes holding connections to the proxy open would stall its shutdown).
    ``zombies_ok``: done once only zombies are left (they hold no connection), instead of
    waiting until PID 1 has reaped them too."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            continue
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return  # the whole group is gone
        if zombies_ok and not _alive_in_group(proc.pid):
            return  # what is left holds nothing open
        time.sleep(0.05)


# -- Firefox ----------------------------------------------------------------------------

FIREFOX_PREFS = {
    "network.proxy.type": 1,
    "network.proxy.allow_hijacking_localhost": True,
    "network.proxy.no_proxies_on": "",
    "network.proxy.failover_direct": False,
    "network.proxy.share_proxy_settings": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.server": "",
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "app.normandy.enabled": False,
    "app.shield.optoutstudies.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "nimbus.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "services.settings.server": "",
    "app.update.enabled": False,
    "app.update.auto": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "dom.push.enabled": False,
    "dom.push.connection.enabled": False,
    "network.trr.mode": 5,
    "network.http.speculative-parallel-limit": 0,
    "network.prefetch-next": False,
    "network.dns.disablePrefetch": True,
    "network.predictor.enabled": False,
    "browser.startup.homepage": "about:blank",
    "browser.newtabpage.enabled": False,
    "browser.region.network.url": "",
    "geo.provider.network.url": "",
    "browser.search.update": False,
    "media.gmp-manager.url": "",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Firefox:
    """One headless Firefox ESR process for a whole run, a fresh user context (its own
    cookie jar) for each case, spoken to over WebDriver BiDi."""

    def __init__(self, proxy_port: int, startup_timeout: float = 60.0) -> None:
        if FIREFOX is None:
            raise RuntimeError("firefox-esr is not installed: run bash .ci/setup")
        from websockets.sync.client import connect

        self._connection = self.ws = None
        self.dir = tempfile.mkdtemp(prefix="cors-creds-firefox-")
        prefs = dict(FIREFOX_PREFS, **{"network.proxy.http": "127.0.0.1",
                                      "network.proxy.http_port": proxy_port})
        with open(os.path.join(self.dir, "user.js"), "w") as fh:
            for k, v in prefs.items():
                fh.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(HOME=self.dir, MOZ_CRASHREPORTER_DISABLE="1", MOZ_HEADLESS="1")
        self.proc = subprocess.Popen(
            [FIREFOX, "--headless", "--no-remote", "--remote-debugging-port", str(port),
             "--profile", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, env=env, start_new_session=True)
        self.stderr: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.stderr.append(line)
                if "WebDriver BiDi listening" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(startup_timeout) or self.proc.poll() is not None:
            self.close()
            raise RuntimeError("firefox did not start:\n" + "".join(self.stderr[-30:]))
        self._id = 0
        self.events: list[dict] = []
        try:
            self._connection = connect(f"ws://127.0.0.1:{port}/session", open_timeout=20,
                                       max_size=2**24, proxy=None)
            self.ws = self._connection.__enter__()  # (websockets 17 wants it as a context)
            caps = self.send("session.new", {"capabilities": {}}, timeout=30)
            self.version = caps["capabilities"].get("browserVersion", "")
            self.user_agent = caps["capabilities"].get("userAgent", "")
            self.send("session.subscribe", {"events": ["log.entryAdded"]})
        except BaseException:
            self.close()  # never leave the browser running
            raise

    def send(self, method: str, params: dict, timeout: float = 20.0) -> dict:
        self._id += 1
        mine = self._id
        self.ws.send(json.dumps({"id": mine, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"BiDi {method}: no answer in {timeout}s")
            msg = json.loads(self.ws.recv(timeout=left))
            if msg.get("type") == "event":
                self.events.append(msg)
            elif msg.get("id") == mine:
                if msg.get("type") == "error":
                    raise RuntimeError(f"BiDi {method}: {msg.get('error')}: {msg.get('message')}")
                return msg["result"]

    def drain(self, seconds: float) -> None:
        """Read events for a while (the console entries that follow a failure)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                return
            if msg.get("type") == "event":
                self.events.append(msg)

    def run(self, page_url: str, function: str, args: dict, timeout: float = 15.0,
            cookie: str | None = None) -> tuple[dict, list[str]]:
        """Open page_url in a fresh user context, optionally set ``cookie`` through
        document.cookie, call ``function(args)``; returns what it returned and the
        error-level console texts logged meanwhile."""
        uc = self.send("browser.createUserContext", {})["userContext"]
        try:
            ctx = self.send("browsingContext.create", {"type": "tab", "userContext": uc})["context"]
            self.send("browsingContext.navigate", {"context": ctx, "url": page_url,
                                                   "wait": "complete"}, timeout=timeout)
            if cookie:
                self.send("script.evaluate", {"expression": f"document.cookie = {json.dumps(cookie)}",
                                              "target": {"context": ctx}, "awaitPromise": False})
            self.events.clear()
            res = self.send("script.callFunction", {
                "functionDeclaration": function, "awaitPromise": True,
                "target": {"context": ctx},
                "arguments": [{"type": "object", "value": [
                    [k, _bidi_value(v)] for k, v in args.items()]}],
            }, timeout=timeout)
            self.drain(0.15)
            texts = [e["params"].get("text", "") for e in self.events
                     if e.get("method") == "log.entryAdded"
                     and e["params"].get("source", {}).get("context") in (ctx, None)]
            return _bidi_unwrap(res.get("result", {})), texts
        finally:
            try:
                self.send("browser.removeUserContext", {"userContext": uc})
            except (RuntimeError, TimeoutError):
                pass

    def load(self, url: str, marker: str, timeout: float = 15.0) -> list[str]:
        """Open ``url`` in a fresh user context and collect the error-level console texts
        until one contains ``marker`` (the page logs its outcome with console.error)."""
        uc = self.send("browser.createUserContext", {})["userContext"]
        try:
            ctx = self.send("browsingContext.create", {"type": "tab", "userContext": uc})["context"]
            self.events.clear()
            self.send("browsingContext.navigate", {"context": ctx, "url": url, "wait": "none"})
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                texts = [e["params"].get("text", "") for e in self.events
                         if e.get("method") == "log.entryAdded"]
                if any(marker in t for t in texts):
                    return texts
                self.drain(0.1)
            return [e["params"].get("text", "") for e in self.events
                    if e.get("method") == "log.entryAdded"]
        finally:
            try:
                self.send("browser.removeUserContext", {"userContext": uc})
            except (RuntimeError, TimeoutError):
                pass

    def close(self) -> None:
        try:
            if self.ws is not None:
                try:
                    self.send("session.end", {}, timeout=5)
                except Exception:  # noqa: BLE001 - closing anyway
                    pass
                self._connection.__exit__(None, None, None)
                self.ws = None
        finally:
            _stop(self.proc)
            shutil.rmtree(self.dir, ignore_errors=True)


def _bidi_value(v):
    if v is None:
        return {"type": "null"}
    if isinstance(v, bool):
        return {"type": "boolean", "value": v}
    if isinstance(v, (int, float)):
        return {"type": "number", "value": v}
    if isinstance(v, str):
        return {"type": "string", "value": v}
    if isinstance(v, dict):
        return {"type": "object", "value": [[k, _bidi_value(x)] for k, x in v.items()]}
    raise TypeError(type(v))


def _bidi_unwrap(r: dict):
    t, v = r.get("type"), r.get("value")
    if t == "object":
        return {k: _bidi_unwrap(x) for k, x in v}
    if t == "array":
        return [_bidi_unwrap(x) for x in v]
    if t in ("null", "undefined"):
        return None
    return v


# -- WebKitGTK --------------------------------------------------------------------------

class Xvfb:
    """A virtual screen for MiniBrowser, stopped by PID."""

    def __init__(self) -> None:
        if XVFB is None:
            raise RuntimeError("Xvfb is not installed: run bash .ci/setup")
        for n in range(90, 140):
            if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
                break
        self.display = f":{n}"
        self.proc = subprocess.Popen([XVFB, self.display, "-screen", "0", "1024x768x24",
                                      "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Xvfb did not start")
            time.sleep(0.05)

    def close(self) -> None:
        _stop(self.proc)


def webkit_run(display: str, proxy_port: int, url: str, timeout: float = 20.0) -> tuple[dict | None, list[str]]:
    """One fresh MiniBrowser process and profile: load ``url`` (a page that logs its
    outcome as ``RESULT`` + JSON), return that outcome and every console line printed."""
    if MINIBROWSER is None:
        raise RuntimeError("webkit2gtk-driver (MiniBrowser) is not installed: run bash .ci/setup")
    home = tempfile.mkdtemp(prefix="cors-creds-webkit-")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(DISPLAY=display, HOME=home, XDG_CONFIG_HOME=f"{home}/config",
               XDG_CACHE_HOME=f"{home}/cache", XDG_DATA_HOME=f"{home}/data",
               XDG_RUNTIME_DIR=f"{home}/run", WEBKIT_DISABLE_COMPOSITING_MODE="1",
               LIBGL_ALWAYS_SOFTWARE="1", NO_AT_BRIDGE="1", GTK_A11Y="none")
    os.makedirs(f"{home}/run", mode=0o700)
    cmd = ["stdbuf", "-oL", MINIBROWSER, f"--proxy=http://127.0.0.1:{proxy_port}",
           "--enable-itp", "--enable-write-console-messages-to-stdout=true",
           "--enable-dns-prefetching=false", url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    lines: list[str] = []
    done = threading.Event()
    result: list[dict] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            m = re.search(re.escape(RESULT) + r"(\{.*\})", line)
            if m:
                result.append(json.loads(m.group(1)))
                # the console lines about the failure come before the page's own
                done.set()
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        done.wait(timeout)
        time.sleep(0.1)
    finally:
        _stop(proc, zombies_ok=True)  # (one process a case: waiting for PID 1 cost 1.3 s each)
        reader.join(5)
        shutil.rmtree(home, ignore_errors=True)
    return (result[0] if result else None), lines
