"""The security suite reuses the forum's and the ideas' factories."""
from tests.forum.conftest import category, make_thread, relaxed_limits, staff_category  # noqa: F401
from tests.ideas.conftest import create_idea  # noqa: F401
from tests.browser.conftest import browser, live_server, new_page, page  # noqa: F401,E402
