"""Where the tests find files outside the package: the repository, and the shared development data
that lives beside it (../shared/data), never at an absolute machine path."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A file of ../shared/data; skips the test when it is absent (fails with REQUIRE_SERVICES=1, as CI sets)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is not present: the shared development data lives in ../shared/data beside the repository"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path
