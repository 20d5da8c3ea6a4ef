"""Security headers on every response, and no inline script anywhere for the policy to forbid."""
from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _policy(response) -> dict[str, str]:
    parts = [p.strip() for p in response.headers["Content-Security-Policy"].split(";")]
    return {p.split(" ", 1)[0]: p.split(" ", 1)[1] if " " in p else "" for p in parts}


def test_pages_api_and_sockets_carry_the_headers(client):
    for path in ["/", "/api/v1/health", "/socket.io/?EIO=4&transport=polling", "/static/css/coknow.css", "/nowhere"]:
        response = client.get(path)
        response.close()  # static files stream from an open file
        policy = _policy(response)
        assert policy["script-src"] == "'self'", path  # no 'unsafe-inline', no 'unsafe-eval'
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path
        assert "Strict-Transport-Security" not in response.headers, path  # plain http: HSTS would be ignored


def test_hsts_over_https(client):
    direct = client.get("/", base_url="https://localhost")
    assert direct.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    proxied = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in proxied.headers


def test_no_template_has_inline_script_or_event_handlers():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        if inline_script.search(text) or handler.search(text) or "javascript:" in text:
            offenders.append(str(path.relative_to(TEMPLATES)))
    assert offenders == []
