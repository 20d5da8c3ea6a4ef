"""Beta fixtures: a program with a build, staff and an accepted tester, and image bytes made with Pillow."""
from __future__ import annotations

import io

import pytest

from community.beta.services import programs
from community.extensions import db


def png_bytes(size=(40, 30), color=(200, 30, 30)) -> bytes:
    """A real PNG image."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def beta(app, create_user):
    """staff, tester, a second tester, an outsider, the program and its first build (all committed)."""
    staff = create_user(email="staff@example.com", display_name="Sam Staff", role="staff")
    tester = create_user(email="tess@example.com", display_name="Tess Tester")
    tester2 = create_user(email="toby@example.com", display_name="Toby Tester")
    outsider = create_user(email="olga@example.com", display_name="Olga Outsider")
    program = programs.save_program(staff, None, name="Android widgets beta",
                                    description="Home-screen widgets.", enrollment="open", status="running")
    build = programs.release_build(staff, program, version="4.13.0-beta.1", notes="First build.")
    for user in (tester, tester2):
        row = programs.apply(user, program)
        programs.decide(staff, row, accept=True)
    db.session.commit()

    class Beta:
        pass

    b = Beta()
    b.staff, b.tester, b.tester2, b.outsider, b.program, b.build = staff, tester, tester2, outsider, program, build
    return b
