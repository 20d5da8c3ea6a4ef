"""gunicorn settings for one CoKnow web process (production mode).

Flask-SocketIO needs sticky sessions, which gunicorn's own balancer cannot give: every process runs ONE
worker, and nginx (deploy/nginx.conf, ip_hash) spreads clients over several such processes, each on its own
port, sharing PostgreSQL, Redis (Socket.IO messages, rate limits, the job queue) and nothing else.
The worker is gunicorn's threaded one with simple-websocket for WebSocket, the setup Flask-SocketIO
documents for its threading mode. An open WebSocket holds one of the worker's threads for as long as it
is open, so the worker runs COKNOW_SOCKETS threads for them on top of COKNOW_CONCURRENCY for requests
(which also sizes the database pool; socket events run in threads of their own, and chat questions wait
in bot/admission.py's bounded line). With threads = COKNOW_CONCURRENCY alone, the 33rd browser could not
connect (measured in bench/RESULTS.md, issue 21).
"""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("COKNOW_CONCURRENCY", "32")) + int(os.environ.get("COKNOW_SOCKETS", "1000"))
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


def post_worker_init(worker):
    """The worker's app starts its warm-up (the bot's index and model) before the first request."""
    from community.hooks import server_starting

    server_starting.send(worker.wsgi)
