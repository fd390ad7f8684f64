"""Reading ahead in a replayed capture: by record index with cheap skipping in .mitm
files, by sequential scan otherwise; truncated files end the window, never raise."""

from mitmproxy import io
from mitmproxy.test import tflow

from cors_capture import Lookahead, exchange_of


def write(path, n, tcp_at=None):
    flows = []
    with open(path, "wb") as fh:
        w = io.FlowWriter(fh)
        for i in range(n):
            if i == tcp_at:
                w.add(tflow.ttcpflow())
                continue
            f = tflow.tflow(resp=True)
            f.request.path = f"/r{i}"
            f.request.timestamp_start = 1000.0 + i
            w.add(f)
            flows.append(f)
    return flows


def test_indexed_window(tmp_path):
    path = str(tmp_path / "c.mitm")
    flows = write(path, 50)
    la = Lookahead(path, max_window=5)
    got = [e.url for e in la.after(exchange_of(flows[10]), 10)]
    assert got == [flows[i].request.url for i in range(11, 16)]
    assert la._indexed and la._pos == 16
    # overlapping and earlier windows come from the parsed records or a rewind
    assert [e.url for e in la.after(exchange_of(flows[12]), 12)][0] == flows[13].request.url
    assert [e.url for e in la.after(exchange_of(flows[2]), 2)][0] == flows[3].request.url
    assert la._indexed
    la.close()


def test_mismatch_falls_back_to_scanning(tmp_path):
    path = str(tmp_path / "c.mitm")
    flows = write(path, 20, tcp_at=3)  # a TCP flow shifts the HTTP flows' positions
    la = Lookahead(path, max_window=3)
    got = [e.url for e in la.after(exchange_of(flows[5]), 5)]
    assert not la._indexed
    assert got == [flows[i].request.url for i in range(6, 9)]
    la.close()


def test_truncated_file_ends_the_window(tmp_path):
    path = str(tmp_path / "c.mitm")
    flows = write(path, 10)
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) - 100])
    la = Lookahead(path, max_window=50)
    got = list(la.after(exchange_of(flows[5]), 5))
    assert [e.url for e in got] == [flows[i].request.url for i in range(6, 9)]
    la.close()
