"""One search box across forum threads and answers (and the other indexed content), related threads, suggestions."""
from __future__ import annotations

from community.extensions import db
from community.forum import services


def test_search_filters_visibility_related_and_suggestions(app, client, create_user, category, staff_category,
                                                           make_thread, relaxed_limits):
    ana, ben, staff = create_user(), create_user(), create_user(role="staff")
    other = services.save_category(None, name="Billing", description="")
    db.session.commit()
    pairing = make_thread(ana, title="Bluetooth sensor will not pair with my phone",
                          body="The sensor blinks red and the app never finds it over Bluetooth.")
    make_thread(ana, title="Bluetooth pairing fails on Android", body="My phone cannot see the sensor.")
    invoice = make_thread(ana, cat=other, title="How do I download my invoice?", body="I need a PDF invoice for accounting.")
    secret = make_thread(staff, cat=staff_category, title="Bluetooth firmware recall plan",
                         body="Internal notes on the Bluetooth firmware recall.")
    reply = services.post_reply(ben, pairing, "Reset the sensor by holding the button for ten seconds, then pair again.")
    services.accept_answer(ana, pairing, reply)
    db.session.commit()

    page = client.get("/forum/search?q=bluetooth+sensor+pairing").get_data(as_text=True)
    assert "Bluetooth sensor will not pair with my phone" in page
    assert "Bluetooth firmware recall plan" not in page  # staff-only content never reaches customers
    assert page.count("Bluetooth sensor will not pair with my phone") == 1  # thread and its answer are one result
    answers = client.get("/forum/search?q=reset+the+sensor&type=answer").get_data(as_text=True)
    assert f"/forum/t/{pairing.id}?reply={reply.id}#reply-{reply.id}" in answers
    billing = client.get(f"/forum/search?q=bluetooth&category={other.slug}").get_data(as_text=True)
    assert "Bluetooth sensor" not in billing
    assert client.get(f"/forum/search?q=x&category={staff_category.slug}").status_code == 404

    suggestions = client.get("/forum/similar?q=sensor+does+not+pair+over+bluetooth").get_json()["threads"]
    titles = [s["title"] for s in suggestions]
    assert "Bluetooth sensor will not pair with my phone" in titles and invoice.title not in titles
    assert secret.title not in titles

    thread_page = client.get(f"/forum/t/{pairing.id}").get_data(as_text=True)
    related = thread_page.split("Related threads and ideas", 1)[1]
    assert "Bluetooth pairing fails on Android" in related and "invoice" not in related

    services.delete_thread(ana, pairing)
    db.session.commit()
    assert "Bluetooth sensor will not pair" not in client.get("/forum/search?q=bluetooth+sensor").get_data(as_text=True)


def test_viewing_a_thread_does_not_run_the_model(app, client, create_user, category, make_thread, relaxed_limits,
                                                 monkeypatch):
    from community import search

    ana = create_user()
    thread = make_thread(ana, title="Bluetooth sensor will not pair with my phone",
                         body="The sensor blinks red and the app never finds it over Bluetooth.")
    make_thread(ana, title="Bluetooth pairing fails on Android", body="My phone cannot see the sensor.")
    db.session.commit()
    embedder = search.get_cache().embedder
    calls: list[str] = []
    for name in ("encode", "encode_query"):
        original = getattr(embedder, name)
        monkeypatch.setattr(embedder, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))
    page = client.get(f"/forum/t/{thread.id}").get_data(as_text=True)
    assert calls == []
    assert "Bluetooth pairing fails on Android" in page.split("Related threads and ideas", 1)[1]
