"""Guard for simroute.engine.clock, the one module that uses SimPy's private fields: if the installed
SimPy's internals differ from what the adapter relies on, these fail (and pyproject pins the major)."""

import inspect
import itertools
import re
from pathlib import Path

import simpy

from simroute.engine import clock
from simroute.engine.clock import NORMAL, SIMPY_MAJOR, Clock, Wakeup

ROOT = Path(__file__).resolve().parents[2]


def test_installed_simpy_is_the_major_version_the_adapter_checks():
    assert int(simpy.__version__.split(".")[0]) == SIMPY_MAJOR
    pins = re.search(r'"simpy>=([\d.]+),<(\d+)"', (ROOT / "pyproject.toml").read_text())
    assert pins is not None, "pyproject.toml must pin simpy to one major version"
    assert int(pins.group(2)) == SIMPY_MAJOR + 1 and int(pins.group(1).split(".")[0]) == SIMPY_MAJOR


def test_environment_layout_is_the_one_the_adapter_reads():
    env = simpy.Environment()
    assert isinstance(env._queue, list) and env._queue == []
    assert isinstance(env._eid, itertools.count)
    assert env._now == 0
    assert simpy.events.NORMAL == NORMAL
    env.schedule(simpy.Event(env), NORMAL, 2.5)
    (entry,) = env._queue
    assert len(entry) == 4 and entry[0] == 2.5 and entry[1] == NORMAL and isinstance(entry[2], int)
    assert isinstance(entry[3], simpy.Event)
    # step pops the entry, sets _now from it, and reads _ok after the callbacks
    source = inspect.getsource(simpy.Environment.step)
    assert "self._now, _, _, event = heappop(self._queue)" in source
    assert "event._ok" in source


def test_engine_events_run_at_their_time_in_schedule_order():
    c = Clock()
    seen = []

    class Ping(Wakeup):
        __slots__ = ("name",)

    def ping(event):
        seen.append((c.now(), event.at, event.name))

    for name, t in (("b", 2.0), ("a", 1.0), ("c", 2.0)):
        p = Ping()
        p.name, p.callbacks = name, (ping,)
        c.schedule_at(p, t)
    later = Ping()
    later.name, later.callbacks = "d", (ping,)
    c.env.run(until=1.5)
    c.schedule_in(later, 0.5)  # due at 2.0, after the two events already due then
    c.env.run()
    assert seen == [(1.0, 1.0, "a"), (2.0, 2.0, "b"), (2.0, 2.0, "c"), (2.0, 2.0, "d")]
    # a SimPy timeout and an engine event interleave on one heap
    c2 = Clock()
    order = []
    c2.env.timeout(1.0).callbacks.append(lambda _e: order.append("timeout"))
    p = Ping()
    p.name, p.callbacks = "engine", (lambda e: order.append(e.name),)
    c2.schedule_at(p, 0.5)
    c2.env.run()
    assert order == ["engine", "timeout"]


def test_no_other_module_touches_simpy_internals():
    """The private fields are named in the clock adapter only."""
    private = re.compile(r"\._(queue|eid|now|ok)\b|\b_ok\s*=")
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "simroute").rglob("*.py")
        if p != Path(clock.__file__) and private.search(p.read_text())
    ]
    assert offenders == []


def test_clock_run_is_environment_run_with_step_inlined():
    """Clock.run copies step's pop, callback swap and failure rule: SimPy's step must still read so."""
    source = inspect.getsource(simpy.Environment.step)
    assert "callbacks, event.callbacks = event.callbacks, None" in source
    assert "if not event._ok and not hasattr(event, '_defused'):" in source

    def events(run):
        c = Clock()
        seen = []

        class Ping(Wakeup):
            __slots__ = ("name",)

        def proc(env):
            for _ in range(3):
                yield env.timeout(0.7)
                seen.append(("process", env.now))

        c.env.process(proc(c.env))
        for name, t in (("b", 2.0), ("a", 1.0), ("c", 2.1)):
            p = Ping()
            p.name, p.callbacks = name, (lambda e: seen.append((e.name, c.now())),)
            c.schedule_at(p, t)
        run(c)
        return seen

    hooks = []
    assert events(lambda c: c.env.run()) == events(lambda c: c.run())
    assert events(lambda c: c.env.run()) == events(lambda c: c.run(lambda: hooks.append(1), every=2))
    assert len(hooks) >= 3

    def failing(env):
        yield env.timeout(1.0)
        raise ValueError("boom")

    c = Clock()
    c.env.process(failing(c.env))
    try:
        c.run()
    except ValueError as error:
        assert str(error) == "boom" and isinstance(error.__cause__, ValueError)
    else:
        raise AssertionError("a failed process must crash the run, as in SimPy")


def test_calendar_events_run_in_the_order_one_heap_would_give():
    """Arrivals wait on the calendar, other events on SimPy's heap: Clock.run takes the earlier head by
    (time, priority, id), so ties between the two go by scheduling order, as on one heap."""

    class Ping(Wakeup):
        __slots__ = ("name",)

    def events(split: bool):
        c = Clock()
        seen = []
        plan = [("a1", 1.0, True), ("h1", 1.0, False), ("h2", 0.5, False), ("a2", 0.5, True)]
        plan += [("h3", 2.0, False), ("a3", 2.0, True), ("a4", 3.0, True), ("h4", 3.0, False)]
        for name, t, arrival in plan:
            p = Ping()
            p.name, p.callbacks = name, (lambda e: seen.append((e.name, c.now())),)
            (c.schedule_arrival if split and arrival else c.schedule_at)(p, t)

        def proc(env):  # a SimPy process too: its timeout is due at 1.0, after a1 and h1
            yield env.timeout(1.0)
            seen.append(("process", env.now))

        c.env.process(proc(c.env))
        c.run()
        return seen

    together, apart = events(split=False), events(split=True)
    assert apart == together
    assert [name for name, _ in apart] == ["h2", "a2", "a1", "h1", "process", "h3", "a3", "a4", "h4"]
