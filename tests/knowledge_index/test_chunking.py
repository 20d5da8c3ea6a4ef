"""Chunking: heading paths, the token window, stable keys and per-section hashes."""

from __future__ import annotations

from knowledge_index.chunking import (
    article_passages,
    chunk_document,
    content_hash,
    embed_input,
    estimate_tokens,
    question_key,
)
from knowledge_index.embedder import Embedder

DOC = """---
title: Billing
---
# Billing

How we charge you.

## Refunds

Refunds are paid within 30 days of a request. Contact support with your order number.

### Partial refunds

Partial refunds apply to annual plans.

## Invoices

Invoices are emailed on the first of each month.
"""


def test_heading_paths_and_keys() -> None:
    passages = chunk_document(DOC, "markdown", title="Billing")
    assert [p.heading for p in passages] == [
        "Billing",
        "Billing › Refunds",
        "Billing › Refunds › Partial refunds",
        "Billing › Invoices",
    ]
    assert [p.chunk_key for p in passages] == [
        "billing#0",
        "billing/refunds#0",
        "billing/refunds/partial-refunds#0",
        "billing/invoices#0",
    ]
    # The title is not repeated when the first heading equals it.
    assert embed_input("Billing", passages[1]).startswith("Billing › Refunds\n")


def test_window_limit_with_model_tokenizer(embedder: Embedder) -> None:
    para = " ".join(f"Sentence {i} explains the refund policy for customers in detail." for i in range(120))
    body = f"# Policy\n\n{para}\n\nShort closing paragraph."
    passages = chunk_document(body, title="Refund policy", count_tokens=embedder.count_tokens)
    assert len(passages) > 3
    for p in passages:
        assert embedder.count_tokens(embed_input("Refund policy", p)) <= embedder.max_tokens
    assert [p.chunk_key for p in passages] == [f"policy#{i}" for i in range(len(passages))]


def test_estimate_is_conservative(embedder: Embedder) -> None:
    samples = [
        "Refunds are paid within 30 days; contact support@example.com for help.",
        "我想要退款，请问怎么办理？需要多长时间？",
        "Internationalization-related misconfigurations happen.",
    ]
    for s in samples:
        assert estimate_tokens(s) >= embedder.count_tokens(s)


def test_editing_one_section_changes_one_hash() -> None:
    before = chunk_document(DOC, title="Billing")
    after = chunk_document(DOC.replace("first of each month", "last day of each month"), title="Billing")
    h_before = {p.chunk_key: content_hash(embed_input("Billing", p)) for p in before}
    h_after = {p.chunk_key: content_hash(embed_input("Billing", p)) for p in after}
    assert h_before.keys() == h_after.keys()
    assert [k for k in h_before if h_before[k] != h_after[k]] == ["billing/invoices#0"]


def test_inserting_a_section_keeps_other_keys() -> None:
    edited = DOC.replace("## Invoices", "## Taxes\n\nVAT is included.\n\n## Invoices")
    before = {p.chunk_key: p.text for p in chunk_document(DOC)}
    after = {p.chunk_key: p.text for p in chunk_document(edited)}
    assert set(after) - set(before) == {"billing/taxes#0"}
    assert all(after[k] == v for k, v in before.items())


def test_html_and_text() -> None:
    html = """<html><head><title>Help</title><style>p{}</style></head><body>
    <h1>Account</h1><p>Manage your account.</p><h2>Password</h2><p>Reset it from <a href="/x">settings</a>.</p>
    <script>var x = 1;</script></body></html>"""
    passages = chunk_document(html, "html")
    assert [(p.heading, p.text) for p in passages] == [
        ("Account", "Manage your account."),
        ("Account › Password", "Reset it from settings."),
    ]
    text = chunk_document("First paragraph.\n\nSecond paragraph.", "text")
    assert [(p.chunk_key, p.text) for p in text] == [("#0", "First paragraph.\n\nSecond paragraph.")]


def test_article_passages_questions_keyed_by_text() -> None:
    a = article_passages("Reset password", "", questions=["How do I reset my password?", "forgot password"])
    b = article_passages("Reset password", "", questions=["forgot password", "How do I reset my password?"])
    assert {p.chunk_key for p in a} == {p.chunk_key for p in b}
    assert a[0].chunk_key == "title"
    assert question_key("Forgot  Password") == question_key("forgot password")


QUESTION = "Question: my Kobo e-reader does not show my notebooks after syncing, what am I doing wrong?"


def test_lead_paragraph_keeps_a_short_answer_with_its_question(embedder: Embedder) -> None:
    body = f"**{QUESTION[:9]}**{QUESTION[9:]}\n\nExport the notebook as EPUB first; Kobo reads EPUB and PDF only."
    passages = chunk_document(body, title="Kobo", count_tokens=embedder.count_tokens, lead_paragraph=True)
    assert [p.text for p in passages] == [f"{QUESTION}\n\nExport the notebook as EPUB first; Kobo reads EPUB and PDF only."]
    # Without the option the question is an ordinary paragraph of the same passage.
    assert len(chunk_document(body, title="Kobo", count_tokens=embedder.count_tokens)) == 1


def test_lead_paragraph_starts_every_piece_of_a_long_answer(embedder: Embedder) -> None:
    steps = "\n\n".join(f"Step {i}: open the settings, choose the export format and copy the file." for i in range(60))
    body = f"{QUESTION}\n\n{steps}\n\n## If it still fails\n\nRestart the e-reader and sync again."
    passages = chunk_document(body, title="Kobo", count_tokens=embedder.count_tokens, lead_paragraph=True)
    assert len(passages) > 3
    assert all(p.text.startswith(QUESTION + "\n\n") for p in passages)
    assert passages[-1].heading == "If it still fails"
    for p in passages:
        assert embedder.count_tokens(embed_input("Kobo", p)) <= embedder.max_tokens
    # The question is never a passage of its own, and every step is still indexed once.
    assert sum(p.text.count("Step ") for p in passages) == 60


def test_a_long_lead_is_shortened_to_leave_room_for_the_answer(embedder: Embedder) -> None:
    question = " ".join(["Why does the sync of my notebooks stop halfway through?"] * 40)
    body = f"{question}\n\nTurn off battery saving while syncing."
    passages = chunk_document(body, count_tokens=embedder.count_tokens, lead_paragraph=True)
    assert len(passages) == 1 and passages[0].text.endswith("…\n\nTurn off battery saving while syncing.")
    lead = passages[0].text.split("\n\n")[0]
    assert embedder.count_tokens(lead) <= embedder.max_tokens // 3
    assert chunk_document(question, count_tokens=embedder.count_tokens, lead_paragraph=True)[0].text == lead


def test_sentence_and_heading_passages_of_an_article():
    body = ("Intro line that restates it.\n\n## Reset your password\n\n1. Click Forgot password on the sign-in screen.\n"
            "2. Open the email and follow the link. It works once.\n\n```\ncode stays whole. Really.\n```\n")
    plain = article_passages("Reset a password", body, questions=["forgot my password"])
    full = article_passages("Reset a password", body, questions=["forgot my password"], with_sentences=True)
    assert [p for p in full if p.kind not in ("sentence", "heading")] == plain  # nothing else changes
    sentences = [p for p in full if p.kind == "sentence"]
    assert "Click Forgot password on the sign-in screen." in [p.text for p in sentences]
    assert all(p.chunk_key.rpartition(".s")[0] in {b.chunk_key for b in plain} for p in sentences)
    assert not any("code stays whole" in p.text for p in sentences)  # code is never split
    headings = [p for p in full if p.kind == "heading"]
    assert [(h.text, h.chunk_key.endswith(".h")) for h in headings] == [("Reset your password", True)]
    assert embed_input("Reset a password", sentences[0]) == sentences[0].text
