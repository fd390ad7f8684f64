"""How the addon lives with mitmproxy's capture files: reading ahead in the file being
replayed (``-r``), and holding back ``-w`` writes of flows whose verdict is still open."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from mitmproxy import ctx, http
from mitmproxy import io as mio

from corscore import Exchange, make_headers


def exchange_of(flow: http.HTTPFlow) -> Exchange:
    """The facts of a mitmproxy flow, as the core wants them."""
    req = flow.request
    resp = flow.response
    return Exchange(
        key=flow.id,
        method=req.method,
        url=req.url,
        request_headers=make_headers(req.headers.fields),
        status=resp.status_code if resp is not None else None,
        response_headers=make_headers(resp.headers.fields) if resp is not None else None,
        timestamp=req.timestamp_start or 0.0,
        websocket=flow.websocket is not None,
    )


class Lookahead:
    """Reads ahead in the capture mitmproxy is replaying (``-r``), so that a preflight
    whose verdict hangs on the flows after it is settled in its own ``response`` hook,
    before ``-w`` writes it. Flows are matched by (method, URL, start time), which
    survive a second read of a .mitm or a HAR file alike."""

    def __init__(self, path: str, max_window: int = 1000) -> None:
        self._fh = open(path, "rb")
        self._stream = mio.FlowReader(self._fh).stream()
        self._buffer: deque[tuple[tuple, Exchange]] = deque()
        self.max_window = max_window
        self.broken = False

    @staticmethod
    def fingerprint(ex: Exchange) -> tuple:
        return (ex.method, ex.url, round(ex.timestamp, 3))

    def _next(self) -> tuple[tuple, Exchange] | None:
        for f in self._stream:
            if isinstance(f, http.HTTPFlow):
                ex = exchange_of(f)
                return self.fingerprint(ex), ex
        return None

    def after(self, ex: Exchange) -> Iterator[Exchange]:
        """The exchanges following ``ex`` in the file, lazily, at most max_window."""
        want = self.fingerprint(ex)
        while True:
            item = self._buffer.popleft() if self._buffer else self._next()
            if item is None:
                self.broken = True  # not in the file: this flow came from elsewhere
                return
            if item[0] == want:
                break
        for i in range(self.max_window):
            if i < len(self._buffer):
                yield self._buffer[i][1]
                continue
            item = self._next()
            if item is None:
                return
            self._buffer.append(item)
            yield item[1]

    def close(self) -> None:
        self._fh.close()


class SaveDeferral:
    """Holds back ``-w`` writes of flows whose verdict is still open (a preflight
    waiting for its actual request), then writes them once settled. It rides on the
    Save addon's own mechanism: a flow Save has not written stays in its
    ``active_flows`` and is written at shutdown anyway, so nothing is ever lost."""

    def __init__(self, save, is_open) -> None:
        self.save = save
        self.is_open = is_open
        self.held: set[str] = set()
        self._orig = save.response
        save.response = self._response

    @classmethod
    def install(cls, is_open: Callable[[http.HTTPFlow], bool]) -> "SaveDeferral | None":
        save = ctx.master.addons.get("save")
        if save is None or not callable(getattr(save, "save_flow", None)):
            return None
        return cls(save, is_open)

    def _response(self, flow: http.HTTPFlow) -> None:
        if self.is_open(flow):
            self.held.add(flow.id)
            return
        self._orig(flow)

    def release(self, flow: http.HTTPFlow) -> None:
        if flow.id in self.held:
            self.held.discard(flow.id)
            if getattr(self.save, "stream", None):
                self.save.save_flow(flow)

    def uninstall(self) -> None:
        if self.save.__dict__.get("response") == self._response:
            del self.save.response


