from community.extensions import db


def test_new_thread_form_takes_the_question_from_the_bot(app, client, auth, create_user, category):
    create_user(email="asker@example.com")
    auth.login("asker@example.com")
    page = client.get("/forum/new?title=Can%20I%20use%20Tidepool%20on%20a%20Kindle%3F").get_data(as_text=True)
    assert 'value="Can I use Tidepool on a Kindle?"' in page


def test_thread_list_runs_a_bounded_number_of_queries(app, client, auth, create_user, make_thread, relaxed_limits,
                                                      count_queries):
    """The list page's queries do not grow with its threads (no query per row)."""
    ana = create_user(email="ana@example.com")
    auth.login("ana@example.com")

    def page_queries() -> int:
        db.session.expire_all()
        with count_queries() as queries:
            assert client.get("/forum/").status_code == 200
        return queries.count

    for n in range(2):
        make_thread(ana, title=f"Pairing question number {n}", tags=["pairing"])
    db.session.commit()
    few = page_queries()
    for n in range(2, 14):
        make_thread(ana, title=f"Pairing question number {n}", tags=["pairing", f"tag{n}"])
    db.session.commit()
    many = page_queries()
    assert many == few and many <= 15, (few, many)
