from sqlalchemy import func, select

from community.extensions import db
from community.models import Role, User, find_user_by_email


def test_create_admin(runner):
    result = runner.invoke(args=["coknow", "create-admin", "--email", "boss@example.com", "--name", "Boss",
                                 "--password", "a long secret 42"])
    assert result.exit_code == 0, result.output
    assert find_user_by_email("boss@example.com").role is Role.admin


def test_create_admin_refuses_bad_input(runner):
    result = runner.invoke(args=["coknow", "create-admin", "--email", "nope", "--name", "N", "--password", "a long secret 42"])
    assert result.exit_code != 0 and "valid e-mail" in result.output
    result = runner.invoke(args=["coknow", "create-admin", "--email", "x@example.com", "--name", "X", "--password", "short"])
    assert result.exit_code != 0 and "at least 8" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_create_admin_promotes_existing(runner, create_user):
    create_user(email="cu@example.com")
    result = runner.invoke(args=["coknow", "create-admin", "--email", "cu@example.com", "--name", "X", "--password", "whatever1"])
    assert result.exit_code == 0
    assert find_user_by_email("cu@example.com").role is Role.admin
