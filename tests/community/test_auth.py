import pytest
from sqlalchemy import func, select

from community.auth import services
from community.extensions import db
from community.models import Role, User
from tests.conftest import csrf_token


def count_users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def register(client, email="ana@example.com", password="correct horse battery", confirm=None, name="Ana Lima",
             token=True):
    data = {"display_name": name, "email": email, "password": password, "confirm": confirm or password}
    if token:
        data["csrf_token"] = csrf_token(client, "/register")
    return client.post("/register", data=data)


def test_register_logs_in_and_shows_profile(client):
    response = register(client)
    assert response.status_code == 302
    page = client.get("/profile").get_data(as_text=True)
    assert "Ana Lima" in page and "ana@example.com" in page
    assert ">AL<" in page  # avatar initials
    user = db.session.scalar(select(User))
    assert user.role is Role.customer
    assert user.password_hash.startswith("scrypt:")
    assert "correct horse" not in user.password_hash


@pytest.mark.app_config(COKNOW_PASSWORD_COST=12)
def test_the_password_cost_applies_to_new_hashes_and_old_ones_keep_working(app, client, create_user, auth):
    user = create_user(email="ana@example.com")
    assert user.password_hash.startswith(f"scrypt:{2 ** 12}:8:1$")
    app.config["COKNOW_PASSWORD_COST"] = 11  # an operator lowers it: existing accounts still sign in
    assert auth.login("ana@example.com").status_code == 302
    services.change_password(user, "correct horse battery", "a new long passphrase")
    db.session.commit()
    assert user.password_hash.startswith(f"scrypt:{2 ** 11}:8:1$")


def test_register_with_taken_email_creates_nothing(client, create_user):
    create_user(email="ana@example.com")
    response = register(client, email="ANA@example.com")
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert count_users() == 1


def test_register_with_short_password_creates_nothing(client):
    response = register(client, password="short")
    assert response.status_code == 422
    assert "Use at least 8" in response.get_data(as_text=True)
    assert count_users() == 0


def test_register_without_csrf_token_creates_nothing(client):
    response = register(client, token=False)
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert count_users() == 0


def test_register_with_bad_email_creates_nothing(client):
    response = register(client, email="not-an-address")
    assert response.status_code == 422
    assert "valid e-mail" in response.get_data(as_text=True)
    assert count_users() == 0


def test_login_logout(client, auth, create_user):
    create_user(email="bo@example.com", display_name="Bo Chen")
    assert auth.login("bo@example.com", "wrong password").status_code == 422
    assert auth.login("bo@example.com").status_code == 302
    assert "Bo Chen" in client.get("/").get_data(as_text=True)
    assert auth.logout().status_code == 302
    assert client.get("/profile").status_code == 302


def test_login_redirect_ignores_foreign_next(client, create_user):
    create_user(email="bo@example.com")
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=https://evil.example/x",
        data={"email": "bo@example.com", "password": "correct horse battery", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_change_password(client, auth, create_user):
    create_user(email="bo@example.com")
    auth.login("bo@example.com")
    token = csrf_token(client, "/password")
    bad = client.post("/password", data={"current_password": "nope nope nope", "new_password": "a new secret 1",
                                         "confirm": "a new secret 1", "csrf_token": token})
    assert "not correct" in bad.get_data(as_text=True)
    ok = client.post("/password", data={"current_password": "correct horse battery",
                                        "new_password": "a new secret 1", "confirm": "a new secret 1",
                                        "csrf_token": token})
    assert ok.status_code == 302
    auth.logout()
    assert auth.login("bo@example.com", "correct horse battery").status_code == 422
    assert auth.login("bo@example.com", "a new secret 1").status_code == 302


def test_profile_update(client, auth, create_user):
    user = create_user(email="bo@example.com")
    auth.login("bo@example.com")
    token = csrf_token(client, "/profile")
    response = client.post("/profile", data={"display_name": "  Bo   Chen ", "locale": "zh", "csrf_token": token})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.display_name == "Bo Chen" and user.locale == "zh"


def test_staff_pages(client, auth, create_user):
    for path in ("/insights/", "/customers/", "/insights/gaps"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    create_user(email="cu@example.com")
    create_user(email="st@example.com", role="staff")
    auth.login("cu@example.com")
    assert client.get("/insights/").status_code == 403
    assert "Insights" not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("st@example.com")
    assert client.get("/insights/").status_code == 200
    home = client.get("/").get_data(as_text=True)
    assert "Knowledge gaps" in home
    for built in ('href="/insights/"', 'href="/customers/"', 'href="/beta/"'):  # built: in the navigation
        assert built in home
