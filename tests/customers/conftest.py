"""Customers across features: a staff member, a valuable and an ordinary customer, and what they did."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from community.customers.services import crm_import
from community.customers.services.segments import recompute_segments
from community.extensions import db
from community.forum import services as forum
from community.ideas import services as ideas
from community.models import Idea, Reply, Role, Thread, User

CRM = """email,name,company,plan,annual_value,signup_date,region
ana@example.com,Ana Lima,Harbor Analytics,Team,48000,2024-03-01,EMEA
bo@example.com,Bo Chen,Bo's Bikes,Free,,2025-01-15,APAC
"""


@dataclass
class World:
    staff: User
    ana: User  # most valuable (48k a year)
    bo: User  # ordinary (free plan)
    idea: Idea
    thread: Thread
    answer: Reply


@pytest.fixture
def world(app, create_user) -> World:
    staff = create_user("staff@example.com", "Sam Staff", role=Role.staff)
    ana = create_user("ana@example.com", "Ana Lima")
    bo = create_user("bo@example.com", "Bo Chen")
    crm_import.import_text(CRM)
    idea = ideas.submit_idea(bo, "Dark mode for the Android app", "Please follow the system theme.", "mobile")
    ideas.add_comment(idea, ana, "We need this for our night shift.")
    category = forum.ensure_category("Questions")
    thread = forum.create_thread(bo, category, "How do I export notes to PDF?", "The export button is grey for me.")
    answer = forum.post_reply(ana, thread, "Open the note first; export works on an open note only.")
    forum.accept_answer(bo, thread, answer)
    # Segments from the activity so far (Ana is valuable and active), then her vote carries hers.
    recompute_segments()
    ideas.cast_vote(ana, idea)
    db.session.commit()
    return World(staff, ana, bo, idea, thread, answer)
