def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/health" in spec["paths"] and "/api/v1/me" in spec["paths"]


def test_errors_are_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"]["code"] == "not_found"
    assert set(body["error"]) == {"code", "message", "fields"}
    me = client.get("/api/v1/me")
    assert me.status_code == 401 and me.get_json()["error"]["code"] == "unauthorized"


def test_api_refuses_form_posts(client):
    response = client.post("/api/v1/health", data={"a": "b"})
    # The JSON-only check runs before routing, so even a GET-only resource answers 415 to a form post.
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


def test_me_when_signed_in(client, auth, create_user):
    create_user(email="me@example.com", display_name="Mei Lin")
    auth.login("me@example.com")
    body = client.get("/api/v1/me").get_json()
    assert body["email"] == "me@example.com" and body["role"] == "customer" and body["initials"] == "ML"
