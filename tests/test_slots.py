"""Build slots (``dashboard.slots``): at most one dashboard build per core at a time under serve,
no limit elsewhere; the warm marks serve counts before it says "Ready"."""

from __future__ import annotations

import threading
import time

from plan_metrics.dashboard import slots


def test_a_build_waits_for_a_free_slot(tmp_path, monkeypatch):
    monkeypatch.setenv(slots.SLOTS_ENV, str(tmp_path))
    monkeypatch.setattr(slots.os, "cpu_count", lambda: 1)
    order = []

    def second():
        with slots.build_slot(poll=0.01):
            order.append("second builds")

    with slots.build_slot():
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.3)
        order.append("first done")
    t.join(5)
    assert order == ["first done", "second builds"]


def test_two_cores_two_builds_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv(slots.SLOTS_ENV, str(tmp_path))
    monkeypatch.setattr(slots.os, "cpu_count", lambda: 2)
    inside, leave = threading.Event(), threading.Event()

    def second():
        with slots.build_slot(poll=0.01):
            inside.set()
            leave.wait(5)

    with slots.build_slot():
        t = threading.Thread(target=second)
        t.start()
        assert inside.wait(2)            # the second core's slot was free
        leave.set()
    t.join(5)


def test_no_limit_outside_serve(monkeypatch):
    monkeypatch.delenv(slots.SLOTS_ENV, raising=False)
    with slots.build_slot(), slots.build_slot():
        pass


def test_warm_marks_only_from_preheated_kernels(tmp_path, monkeypatch):
    monkeypatch.setenv(slots.SLOTS_ENV, str(tmp_path))
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    slots.mark_warm("board.ipynb")
    assert slots.warm_count(tmp_path, "board.ipynb") == 0
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    slots.mark_warm("board.ipynb")
    assert slots.warm_count(tmp_path, "board.ipynb") == 1
    assert slots.warm_count(tmp_path, "equity.ipynb") == 0
