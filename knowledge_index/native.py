"""Where the library's long native calls run (the encoder's forward pass, FAISS searches and fits).

By default they run in the calling thread. A server that serves many clients from one OS thread with
green threads (gevent) must not run them there: a 5 ms forward pass would stall every other client for
5 ms, and the GIL-free native work of two answers could never overlap. Such a server installs a runner
that hands the call to a real OS thread and lets its event loop go on meanwhile (`set_runner`). Only
calls that touch no Python locks or connections are routed here: they run in a foreign thread.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

T = TypeVar("T")

Runner = Callable[..., Any]
_runner: Runner | None = None


def set_runner(runner: Runner | None) -> None:
    """Run native calls through runner(fn, *args, **kwargs) from now on (None: in the calling thread)."""
    global _runner
    _runner = runner


def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """fn(*args, **kwargs), in the installed runner's thread when there is one."""
    if _runner is None:
        return fn(*args, **kwargs)
    result: T = _runner(fn, *args, **kwargs)
    return result
