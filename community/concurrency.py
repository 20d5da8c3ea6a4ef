"""How this process serves many clients at once: OS threads, or gevent's green threads.

The embedded server (`flask coknow serve`) and the default production worker (gunicorn gthread) use OS
threads: Socket.IO's threading mode, a few threads per open socket. gunicorn's gevent worker
(COKNOW_WORKER=gevent, deploy/gunicorn.conf.py) monkey-patches the standard library before the app is
imported; then every socket and event is a greenlet in one OS
thread, and three things change here:

- Socket.IO runs in its gevent mode (a greenlet per socket task instead of an OS thread);
- the library's long native calls (the encoder, FAISS, the bot's model fits: knowledge_index.native) run
  in gevent's pool of OS threads, so the event loop serves other clients meanwhile and two answers'
  GIL-free native work overlaps on two cores;
- SQLite writers of this process take turns for the write lock through a gevent-aware semaphore
  (community.database `_take_turns_writing`): SQLite's own busy wait sleeps in C, which under gevent
  would stop the whole process while the greenlet holding the lock waits to be resumed. PostgreSQL
  (psycopg 3 waits cooperatively once gevent has patched `select`) needs nothing.

Monkey patching must happen before anything imports socket or threading, which the `flask` command has
already done by the time it finds the app: so the embedded server stays threaded, and gevent is only
used where its worker patches first.
"""
from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterable
from typing import Any, Callable

from knowledge_index import native


def green() -> bool:
    """True when gevent has monkey-patched this process (gunicorn's gevent worker)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("socket"))


def async_mode() -> str:
    """Socket.IO's async mode for this process: "gevent" under gevent's patching, else "threading"."""
    return "gevent" if green() else "threading"


def take_turns(app: Any) -> None:
    """Under gevent, each request first lets every other ready greenlet run (gevent.sleep(0)).

    Without it, a greenlet whose client sent its next request at once goes on serving it while others
    that are ready wait: measured on the 1M-post community with 20 clients, rendered pages answered at
    p50 5 ms but p95 650-920 ms; the throughput was the same, its sharing was not.
    """
    if not green():
        return
    import gevent

    @app.before_request
    def _yield_first() -> None:
        gevent.sleep(0)


def let_others_run() -> None:
    """Under gevent, let every other ready greenlet run first (gevent.sleep(0)); elsewhere nothing.

    A long stretch of Python in one greenlet (an answer's ranking, storing and rendering: several ms)
    holds every other socket's events: a question that only needs "busy" waited behind it."""
    if green():
        import gevent

        gevent.sleep(0)


def install_native_runner() -> None:
    """Under gevent, send knowledge_index's native calls to gevent's OS thread pool; else run them inline."""
    if not green():
        native.set_runner(None)
        return
    import gevent
    from gevent import monkey

    os_thread_id: Callable[[], int] = monkey.get_original("_thread", "get_ident")
    home = os_thread_id()
    pool = gevent.get_hub().threadpool

    def in_pool(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if os_thread_id() != home:  # already off the event loop (a fit that encodes): no second hop
            return fn(*args, **kwargs)
        return pool.apply(fn, args, kwargs)

    native.set_runner(in_pool)


def freeze_after_warm_up(warm_ups: Iterable[object], timeout: float | None = None, *, wait: bool = True) -> None:
    """Once the server's warm-up threads are done, move every object alive then out of the garbage collector's
    sight (gc.freeze): the app, the models, the index, jieba's dictionary live as long as the process.

    A full collection walked them all: ~300,000 objects, 330 ms with the event loop stopped (under gevent every
    socket of the process waits), every few seconds under load: the questions of those moments were refused
    with a refusal p95 of 0.3-0.6 s (issue 21, session 9). Objects made later (sockets, requests) are collected
    as before.
    wait: block until then (a gunicorn worker, before it serves); else a background thread waits.
    """
    threads = [t for t in warm_ups if isinstance(t, threading.Thread)]

    def freeze() -> None:
        for thread in threads:
            thread.join(timeout)
        gc.collect()  # what the start-up left as garbage is freed, not frozen
        gc.freeze()

    if wait:
        freeze()
    else:
        threading.Thread(target=freeze, daemon=True, name="coknow-gc-freeze").start()
