"""nginx's micro-cache on the installed site (the shared installation of the
oldest release, :func:`public_site`), with real clients:

* anonymous visitors' list and post pages come from nginx's cache, with no
  cookie and no CSRF token in them; no other page goes through it;
* a visitor with a session (signed in) or a message waiting never gets a
  cached page, and nothing they get is stored: 24 clients at once, signed
  in and anonymous, on the same pages, and nobody sees anybody else's page;
* a new post, an edit and a deletion show to anonymous visitors within a
  second (:mod:`support.pagecache`); across two app hosts: test_cluster.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter

import pytest
from support.db import django
from support.figures import report
from support.httpclient import HttpSession, Response
from support.pagecache import status_of, warm, watch_change
from support.site import PASSWORD, login, publish

#: Clients at once in the mixed race, half of them signed in.
CLIENTS = 24
RACE_SECONDS = 4

USERS = [f"cache{i}" for i in range(CLIENTS // 2)]
SESSIONS = f"""
import json
from django.contrib.auth.models import User
from django.test import Client
keys = {{}}
for name in {USERS!r}:
    user, _ = User.objects.get_or_create(username=name, email=name + "@ex.org")
    client = Client()
    client.force_login(user)
    keys[name] = client.cookies["sessionid"].value
print(json.dumps(keys))
"""


POST = "from ublog_posts.models import Post"


@pytest.fixture(scope="module")
def site(public_site):
    return public_site


def anonymous_page_is_clean(response: Response) -> None:
    assert response.status == 200, response.status
    assert "Set-Cookie" not in response.headers, response.headers
    assert "csrfmiddlewaretoken" not in response.text
    assert 'class="site-user"' not in response.text


def test_anonymous_pages_come_from_the_cache(site):
    author = site.session()
    login(author, "alice", PASSWORD)
    pk = publish(author, f"kept for a second {uuid.uuid4().hex[:8]}")
    for path in ("/", f"/{pk}/"):
        web = site.session()
        warm(web, path)
        answers = [web.get(path) for _ in range(20)]
        statuses = Counter(status_of(answer) for answer in answers)
        report(f"micro-cache: 20 anonymous GET {path} in a row", dict(statuses))
        assert statuses["HIT"] >= 10, statuses
        for answer in answers:
            anonymous_page_is_clean(answer)
        assert not web.cookies, "an anonymous page set a cookie"
        # HEAD is answered from the same page.
        assert status_of(web.get(path, method="HEAD")) in (
            "HIT",
            "EXPIRED",
            "UPDATING",
            "MISS",
        )


def test_a_session_or_a_message_is_never_answered_from_the_cache(site):
    warm(site.session(), "/")
    web = site.session()
    login(web, "alice", PASSWORD)
    for _ in range(5):
        page = web.get("/")
        assert status_of(page) == "BYPASS"
        assert 'class="site-user">alice<' in page.text
    # An anonymous poster sees their post at once: the message after posting
    # comes in a cookie, with the page the post redirects to.
    poster = site.session()
    poster.get("/new/")
    text = f"shown at once to its poster {uuid.uuid4().hex[:8]}"
    posted = poster.post_multipart("/new/", {"text": text}, {}, follow=True)
    assert posted.status == 200 and status_of(posted) == "BYPASS"
    assert text in posted.text
    stranger = HttpSession(site.url, headers={"Cookie": "messages=anything"})
    assert status_of(stranger.get("/")) == "BYPASS"


def test_pages_nginx_may_not_keep_pass_its_cache_by(site):
    """Forms and errors never go through the cache (nor wait for its lock):
    only the list and post pages do."""
    web = site.session()
    for path, status in (("/new/", 200), ("/accounts/login/", 200), ("/x/", 404)):
        for _ in range(2):
            page = web.get(path)
            assert (page.status, status_of(page)) == (status, "BYPASS"), path


def test_many_clients_at_once_get_only_their_own_pages(site):
    """Signed-in and anonymous clients on the same two pages at once: every
    signed-in page is its user's, fresh; every anonymous page is clean."""
    keys = json.loads(django(site, SESSIONS))
    pk = int(django(site, f"{POST}\nprint(Post.objects.create(text='raced over').pk)"))
    paths = ["/", f"/{pk}/"]
    start = threading.Barrier(CLIENTS)
    problems: list[str] = []
    counts: Counter = Counter()
    lock = threading.Lock()

    def client(index: int) -> None:
        name = USERS[index] if index < len(USERS) else None
        headers = {"Cookie": f"sessionid={keys[name]}"} if name else {}
        web = HttpSession(site.url, headers=headers)
        start.wait(timeout=60)
        deadline = time.monotonic() + RACE_SECONDS
        n = 0
        while time.monotonic() < deadline:
            path = paths[n % 2]
            n += 1
            answer = web.get(path)
            cache = status_of(answer)
            with lock:
                counts[(bool(name), cache)] += 1
            found = re.search(r'class="site-user">([^<]+)<', answer.text)
            if answer.status != 200:
                problem = f"{path}: {answer.status}"
            elif name and (cache != "BYPASS" or not found or found[1] != name):
                problem = f"{name} got {found and found[1]} ({cache}) on {path}"
            elif name and "csrfmiddlewaretoken" not in answer.text:
                problem = f"{name}: no like form on {path}"
            elif not name and (found or "csrfmiddlewaretoken" in answer.text):
                problem = f"anonymous got a personal page ({cache}) on {path}"
            elif not name and "Set-Cookie" in answer.headers:
                problem = f"anonymous got a cookie ({cache}) on {path}"
            else:
                continue
            with lock:
                problems.append(problem)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    figures = {
        f"{'signed in' if signed else 'anonymous'} {cache}": n
        for (signed, cache), n in sorted(counts.items(), key=str)
    }
    report(f"micro-cache: {CLIENTS} clients at once for {RACE_SECONDS} s", figures)
    assert not problems, problems[:10]
    assert counts[(False, "HIT")] > 0 and counts[(True, "BYPASS")] > 0


def test_a_new_post_an_edit_and_a_deletion_show_within_a_second(site):
    author = site.session()
    login(author, "bob", PASSWORD)
    reader = {"this host": site.session()}

    text = f"new and listed {uuid.uuid4().hex[:8]}"
    warm(reader["this host"], "/")
    pk = publish(author, text)
    new = watch_change(reader, "/", lambda page: text in page.text, time.monotonic())
    report("micro-cache: a new post on the list", new.summary())

    warm(reader["this host"], f"/{pk}/")
    edited = f"edited {uuid.uuid4().hex[:8]}"
    author.get(f"/{pk}/edit/")
    done = author.post_multipart(f"/{pk}/edit/", {"text": edited}, {})
    assert done.status == 302, done.text[:1000]
    change = watch_change(
        reader, f"/{pk}/", lambda page: edited in page.text, time.monotonic()
    )
    report("micro-cache: an edit on the post's page", change.summary())

    warm(reader["this host"], f"/{pk}/")
    author.get(f"/{pk}/delete/")
    gone = author.post_form(f"/{pk}/delete/", {}, follow=False)
    assert gone.status == 302, gone.text[:1000]
    change = watch_change(
        reader, f"/{pk}/", lambda page: page.status == 404, time.monotonic()
    )
    report("micro-cache: a deletion on the post's page", change.summary())
