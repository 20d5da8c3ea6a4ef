"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi run`."""
from community import create_app
from community.extensions import socketio

app = create_app()

__all__ = ["app", "socketio"]
