from tests.factories import make_reply, make_thread, make_topic, make_user


async def test_home_topic_and_thread_pages_render(client):
    topic = await make_topic("tupe-pensions", "TUPE & pensions")
    thread = await make_thread(topic=topic, title="Admitted body status for LGPS?")
    await make_reply(thread)
    for url in ["/", "/topics/tupe-pensions", thread.url, "/signin", "/signup"]:
        response = await client.get(url)
        assert response.status_code == 200, (url, response.text[:2000])
    response = await client.get(thread.url)
    assert "Admitted body status" in response.text
