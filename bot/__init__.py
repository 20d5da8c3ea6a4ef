"""The support bot: answer engine, knowledge capture and the chat."""
from flask import Blueprint

bp = Blueprint("chat", __name__, url_prefix="/chat")

from bot import views  # noqa: E402,F401
