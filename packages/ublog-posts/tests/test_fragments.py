"""Posts kept rendered per process (``ublog_posts.fragments``): a post is
rendered once, and whatever it shows that changes (the text, the image, a
moderation decision, the author's name, a like, the language, the visitor)
gives a new rendering at once; the CSRF token is always the request's."""

import re

import pytest
from django.template import engines
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.timezone import localtime

from tests.helpers import image_bytes, upload
from ublog_posts import fragments
from ublog_posts.images import process
from ublog_posts.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_store():
    fragments.STORE.clear()
    yield
    fragments.STORE.clear()


@pytest.fixture
def renders(monkeypatch):
    """How many times ``_post.html`` is rendered (the cached loader
    gives the same template object every time)."""
    template = engines["django"].engine.get_template(fragments.POST_TEMPLATE)
    render = template.render
    count = {"n": 0}

    def counted(context):
        count["n"] += 1
        return render(context)

    monkeypatch.setattr(template, "render", counted)
    return count


def list_page(client=None):
    return (client or Client()).get(reverse("ublog_posts:list")).content.decode()


def test_a_body_is_rendered_once_per_process(renders, post):
    first = list_page()
    second = list_page()
    assert renders["n"] == 1
    assert first == second
    assert post.text in first


def test_an_edit_shows_at_once(renders, post):
    list_page()
    post.text = "edited text"
    post.save()
    assert "edited text" in list_page()
    assert renders["n"] == 2


def test_a_queryset_update_that_skips_modified_still_shows(post):
    """Admin actions update rows without touching ``modified``."""
    assert "ublog-post-pending" not in detail(post)
    Post.objects.filter(pk=post.pk).update(status=Post.Status.PENDING)
    Post.objects.filter(pk=post.pk).update(text="changed by update()")
    page = detail(post, as_owner=True)
    assert "changed by update()" in page and "ublog-post-pending" in page


def detail(post, as_owner=False):
    client = Client()
    if as_owner:
        client.force_login(post.owner)
    return client.get(post.get_absolute_url()).content.decode()


def test_a_renamed_author_and_a_new_image_show_at_once(post):
    assert post.owner.username in list_page()
    post.owner.username = "renamed"
    post.owner.save()
    assert ">renamed</a>" in list_page()
    post.set_image(process(upload(image_bytes("PNG", size=(900, 600)))))
    post.image_alt = "a new picture"
    post.save()
    page = list_page()
    assert post.thumbnail.url in page and 'alt="a new picture"' in page


def test_each_language_has_its_own_body(settings, anonymous_post):
    """The same post in English, then in German: two renderings. The date
    is written in Django's own words for each language, so the test needs
    no compiled catalog of ours (Debian's build tests before msgfmt)."""
    created = localtime(anonymous_post.created)
    english = post_date(list_page())
    assert english == date_format(created, "DATETIME_FORMAT")
    with translation.override("de"):
        settings.LANGUAGE_CODE = "de"
        german = post_date(list_page(Client(headers={"accept-language": "de"})))
        assert german == date_format(created, "DATETIME_FORMAT")
    assert german != english


def post_date(page: str) -> str:
    """The text of the (only) post's date on a list page."""
    (text,) = re.findall(r"<time datetime=[^>]*>([^<]*)</time>", page)
    return text


def test_a_footer_is_kept_per_kind_of_visitor_with_their_own_token(
    post, user, other_user
):
    owner = Client(enforce_csrf_checks=True)
    owner.force_login(user)
    stranger = Client(enforce_csrf_checks=True)
    stranger.force_login(other_user)
    edit = reverse("ublog_posts:edit", args=[post.pk])
    like = reverse("ublog_posts:like", args=[post.pk])
    list_page(owner), list_page(stranger)  # rendered and kept
    mine, theirs = list_page(owner), list_page(stranger)  # from the store
    assert edit in mine and edit not in theirs
    assert fragments.CSRF_PLACEHOLDER not in mine + theirs
    for client, page in ((owner, mine), (stranger, theirs)):
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        liked = client.post(like, {"csrfmiddlewaretoken": token})
        assert liked.status_code == 302, liked.status_code
    # Two likes: a footer with the new count and state, not the kept one.
    page = list_page(owner)
    assert '<span class="ublog-like-count">2</span>' in page
    assert 'aria-pressed="true"' in page


def test_the_store_is_bounded_and_can_be_turned_off(settings, user):
    settings.UBLOG_POSTS_POST_CACHE_SIZE = 2
    for n in range(3):
        Post.objects.create(text=f"post {n}", owner=user)
    list_page()
    assert len(fragments.STORE.entries) == 2
    settings.UBLOG_POSTS_POST_CACHE_SIZE = 0
    fragments.STORE.clear()
    list_page()
    assert len(fragments.STORE.entries) == 0
