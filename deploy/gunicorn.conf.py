"""gunicorn settings for one CoKnow web process (production mode).

Flask-SocketIO needs sticky sessions, which gunicorn's own balancer cannot give: every process runs ONE
worker, and nginx (deploy/nginx.conf, ip_hash) spreads clients over several such processes, each on its own
port, sharing PostgreSQL, Redis (Socket.IO messages, rate limits, the job queue) and nothing else.
The worker is gunicorn's gevent worker (COKNOW_WORKER=gevent), as Flask-SocketIO recommends for many
connections: it monkey-patches the standard library before the app is imported, and every connection,
socket and event is a greenlet in one OS thread; the encoder's and FAISS's native work runs in gevent's OS
thread pool (community/concurrency.py). worker_connections bounds the connections it holds at once:
COKNOW_SOCKETS + COKNOW_CONCURRENCY (which also sizes the database pool; chat questions wait in
bot/admission.py's bounded line). Measured with 1,000 chat sessions on a quiet machine (bench/RESULTS.md,
issue 21): 87-94 questions/s answered against 45-52 for the threaded worker, p95 20 ms against 271 ms at
50/s, 4 OS threads against 4,005.

COKNOW_WORKER=gthread runs gunicorn's threaded worker with simple-websocket instead: an open WebSocket
holds one of its threads for as long as it is open, so it runs COKNOW_SOCKETS threads for them on top of
COKNOW_CONCURRENCY for requests (with threads = COKNOW_CONCURRENCY alone, the 33rd browser could not connect).
"""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = 1
worker_class = os.environ.get("COKNOW_WORKER", "gevent")
if worker_class not in ("gevent", "gthread"):
    raise SystemExit(f"COKNOW_WORKER must be gevent or gthread, got {worker_class!r}")
# gevent records each greenlet's spawning stack for its debugging tools: ~34 objects per open socket that every
# full garbage collection walked with the event loop stopped (issue 21, session 10). Read by gevent in the worker.
os.environ.setdefault("GEVENT_TRACK_GREENLET_TREE", "false")
# An open WebSocket holds one connection (gevent) or one thread (gthread) for as long as it is open.
held = int(os.environ.get("COKNOW_CONCURRENCY", "32")) + int(os.environ.get("COKNOW_SOCKETS", "1000"))
worker_connections = held
threads = held if worker_class == "gthread" else 1
# Long-polling requests and WebSocket handshakes may wait; a stuck worker is restarted after this.
timeout = 120
graceful_timeout = 20
keepalive = 5
# The app (and the model, loaded on first use) is built once in the worker, not in the master.
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("COKNOW_LOG_LEVEL", "info")
# Several processes run side by side: the control socket would be one shared path; it is not used.
control_socket_disable = True
proc_name = f"coknow-web-{os.environ.get('PORT', '8000')}"


# How long a worker may warm up before it serves anyway (the first questions then finish the loading).
WARM_UP_SECONDS = 90


def post_worker_init(worker):
    """The worker's app warms up (the bot's index and model, the message-kind classifier) before it takes its
    first request: beside the traffic, under gevent, the warm-up ran on the event loop, and every question of
    the first seconds waited behind it or was refused "busy" (1.4 s refusal p95, issue 21). Until then new
    connections wait in the listening socket's backlog. Then what it loaded leaves the garbage collector's sight
    (community.concurrency.freeze_after_warm_up: full collections stopped the event loop for 330 ms)."""
    from community.concurrency import freeze_after_warm_up
    from community.hooks import server_starting

    freeze_after_warm_up([started for _receiver, started in server_starting.send(worker.wsgi)], WARM_UP_SECONDS)
