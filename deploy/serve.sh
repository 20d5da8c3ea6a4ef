#!/usr/bin/env bash
# Production mode on one machine: N single-worker gunicorn processes on ports PORT..PORT+N-1 (put
# deploy/nginx.conf in front of them) and one job worker, on PostgreSQL and Redis. Stops them all when
# one of them dies or on Ctrl-C / SIGTERM. Several machines: run this (or the systemd units) on each.
# COKNOW_WORKER=gthread runs gunicorn's threaded worker instead of the gevent one (deploy/gunicorn.conf.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PROCESSES=${PROCESSES:-2}
PORT=${PORT:-8000}
BIN=${BIN:-.venv/bin}
: "${DATABASE_URL:?set DATABASE_URL to the PostgreSQL database (postgresql+psycopg://user@host/db)}"
: "${SOCKETIO_MESSAGE_QUEUE:?set SOCKETIO_MESSAGE_QUEUE=redis://127.0.0.1:6379/0 so the processes share live events}"
export COKNOW_JOBS_URL=${COKNOW_JOBS_URL:-$SOCKETIO_MESSAGE_QUEUE}
export COKNOW_RATELIMIT_STORAGE_URL=${COKNOW_RATELIMIT_STORAGE_URL:-$SOCKETIO_MESSAGE_QUEUE}
export COKNOW_JOB_WORKERS=0  # the web processes only enqueue; the job worker below runs the jobs
export COKNOW_PROXIES=${COKNOW_PROXIES:-1}  # nginx in front: the visitor's address is in X-Forwarded-For
export FLASK_APP=wsgi:app HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

"$BIN/flask" db upgrade heads
# Stored post HTML made by an older renderer (or none yet) is made again by the job worker started below.
"$BIN/flask" coknow markup rerender --background
pids=()
stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait || true; }
trap stop INT TERM EXIT
for ((n = 0; n < PROCESSES; n++)); do
  PORT=$((PORT + n)) "$BIN/gunicorn" -c deploy/gunicorn.conf.py wsgi:app &
  pids+=($!)
done
"$BIN/flask" coknow jobs worker --workers "${JOB_THREADS:-2}" &
pids+=($!)
echo "CoKnow: $PROCESSES web processes on ports $PORT-$((PORT + PROCESSES - 1)) and a job worker; nginx: deploy/nginx.conf"
wait -n
