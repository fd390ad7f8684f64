"""The state's building blocks: the capped, ageing table and the log's repeat counter."""

from corscore.state import Repeats, Table


def test_first_few_then_milestones():
    r = Repeats(first=3)
    logged = [n for n in range(1, 1001) if r.see("k")[0]]
    assert logged == [1, 2, 3]
    assert [n for n in range(1, 1001) if Repeats.milestone(n)] == [10, 100, 1000]


def test_zero_logs_everything_and_keys_are_independent():
    r = Repeats(first=0)
    assert all(r.see("a")[0] for _ in range(50))
    r = Repeats(first=1)
    assert r.see("a") == (True, 1) and r.see("b") == (True, 1) and r.see("a") == (False, 2)


def test_bounded_the_least_recently_seen_forgotten_first():
    r = Repeats(first=1, cap=10)
    for i in range(10_000):
        r.see(i)
        r.see(0)  # kept: seen again every time
    assert r.see(0)[1] == 10_002
    assert r.see(9_999) == (False, 2) and r.see(9_989) == (True, 1)  # forgotten


def test_table_caps_and_ages_out_in_order():
    t = Table(cap=3, lifetime=10.0)
    for i in range(5):
        t.put(i, f"v{i}", float(i))
    assert len(t) == 3 and 0 not in t and 1 not in t and t.get(2) == "v2"
    t.put(2, "again", 4.5)  # put again: moved to the newest
    assert t.expire(12.9) == [] and t.expire(13.0) == []  # v3 is 10 s old: not yet over
    assert t.expire(13.0, inclusive=True) == ["v3"]
    assert t.expire(100.0) == ["v4", "again"] and len(t) == 0
    t.put("a", 1, 0.0)
    assert t.pop("a") == 1 and t.pop("a") is None and t.drain() == []
