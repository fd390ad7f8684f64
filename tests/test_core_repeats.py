from corscore.repeats import Repeats


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


def test_bounded():
    r = Repeats(first=1, cap=10)
    for i in range(10_000):
        r.see(i)
    assert len(r._counts) == 10
