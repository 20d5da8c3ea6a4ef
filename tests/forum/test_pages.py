

def test_new_thread_form_takes_the_question_from_the_bot(app, client, auth, create_user, category):
    create_user(email="asker@example.com")
    auth.login("asker@example.com")
    page = client.get("/forum/new?title=Can%20I%20use%20Tidepool%20on%20a%20Kindle%3F").get_data(as_text=True)
    assert 'value="Can I use Tidepool on a Kindle?"' in page
