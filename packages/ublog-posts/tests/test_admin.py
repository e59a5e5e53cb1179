"""The posts' admin: moderation columns, filters and search, publishing, and
deleting a spammer's posts by address or by session."""

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from tests.helpers import image_bytes, upload
from ublog_posts import list_cache
from ublog_posts.admin import LAST_SHOWN_FIELD, PostAdmin
from ublog_posts.models import Like, Post

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:ublog_posts_post_changelist")
PENDING = Post.Status.PENDING


def anonymous(text, address=None, session="", **kwargs):
    return Post.objects.create(
        text=text, poster_address=address, poster_session=session, **kwargs
    )


@pytest.fixture
def spam(media_root):
    """A spammer's posts (one address, two sessions, images, a like), and
    posts that must survive: same session elsewhere, same address as a
    neighbour, someone else, a logged-in user."""
    return {
        "first": anonymous("spam one", session="5" * 32, address="203.0.113.66"),
        "second": anonymous(
            "spam two",
            session="5" * 32,
            address="203.0.113.66",
            image=upload(image_bytes()),
            status=PENDING,
        ),
        "new_session": anonymous("spam three", "203.0.113.66", "6" * 32),
        "roaming": anonymous("spam from a phone", "198.51.100.1", "5" * 32),
        "other": anonymous("an honest visitor", "192.0.2.10", "7" * 32),
    }


def action(admin_client, name, posts, follow=False):
    """Choose an action on the change list for *posts*, as the form does."""
    data = {"action": name, "_selected_action": [p.pk for p in posts], "index": 0}
    return admin_client.post(CHANGELIST, data, follow=follow)


def confirm(admin_client, page):
    """Submit the confirmation *page*'s form."""
    form = page.context
    data = {
        "action": form["action"],
        "_selected_action": [p.pk for p in form["queryset"]],
        LAST_SHOWN_FIELD: form["last_shown"],
        "post": "yes",
    }
    return admin_client.post(CHANGELIST, data, follow=True)


def texts():
    return set(Post.objects.values_list("text", flat=True))


def user_with(django_user_model, *codenames):
    user = django_user_model.objects.create_user("helper", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


# the change list ----------------------------------------------------------------


def test_columns_show_address_and_session_of_anonymous_posts(admin_client, spam, post):
    content = admin_client.get(CHANGELIST).content.decode()
    assert '<a href="?poster_address=203.0.113.66"' in content
    assert f'<a href="?poster_session={"5" * 32}"' in content
    assert "<code>55555555</code>" in content
    assert "waiting for moderation" in content
    # The logged-in user's post has neither.
    response = admin_client.get(CHANGELIST, {"q": "Alice"})
    assert response.context["cl"].result_count == 1
    assert "?poster_address=" not in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "pending"}, {"spam two"}),
        ({"poster_address": "203.0.113.66"}, {"spam one", "spam two", "spam three"}),
        ({"poster_session": "5" * 32}, {"spam one", "spam two", "spam from a phone"}),
        ({"q": "203.0.113."}, {"spam one", "spam two", "spam three"}),
        ({"q": "6" * 32}, {"spam three"}),
        ({"q": "666"}, set()),  # a session is found by its whole token only
        ({"owner__isempty": "0"}, {"Hello from Alice"}),
    ],
)
def test_filters_and_search(admin_client, spam, post, query, expected):
    response = admin_client.get(CHANGELIST, query)
    assert response.status_code == 200
    assert {p.text for p in response.context["cl"].result_list} == expected


def test_change_form_shows_but_does_not_edit_the_poster(admin_client, spam):
    post = spam["second"]
    url = reverse("admin:ublog_posts_post_change", args=[post.pk])
    content = admin_client.get(url).content.decode()
    assert "203.0.113.66" in content
    assert 'name="poster_address"' not in content
    assert 'name="status"' in content


# publishing -----------------------------------------------------------------------


def test_publish_selected(
    admin_client, admin_user, moderated_pair, on_commit, cache_on
):
    waiting, kept, published = moderated_pair
    visitor = Client()
    assert b"approve me" not in visitor.get(reverse("ublog_posts:list")).content
    with on_commit():
        response = action(
            admin_client, "publish_selected", [waiting, published], follow=True
        )
    assert "1 post published." in response.content.decode()
    statuses = dict(Post.objects.values_list("text", "status"))
    assert statuses == {
        "approve me": "published",
        "not this one": "pending",
        "already out": "published",
    }
    content = visitor.get(reverse("ublog_posts:list")).content
    assert b"approve me" in content and b"not this one" not in content
    entry = LogEntry.objects.get()
    assert (entry.action_flag, entry.object_id) == (CHANGE, str(waiting.pk))
    assert entry.user == admin_user
    assert entry.get_change_message() == "Changed Status."


@pytest.fixture
def moderated_pair(db):
    return (
        Post.objects.create(text="approve me", status=PENDING),
        Post.objects.create(text="not this one", status=PENDING),
        Post.objects.create(text="already out"),
    )


def test_moderators_publish_others_do_not(moderator, django_user_model, moderated_pair):
    client = Client()
    client.force_login(moderator)
    actions = client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert "publish_selected" in dict(actions)
    assert "delete_same_address" not in dict(actions)  # no delete permission
    viewer = user_with(django_user_model, "view_post")
    response = viewer.get(CHANGELIST)
    assert response.status_code == 200
    assert response.context["action_form"] is None
    response = viewer.post(
        CHANGELIST,
        {"action": "publish_selected", "_selected_action": [moderated_pair[0].pk]},
    )
    assert Post.objects.filter(status=PENDING).count() == 2


# deleting by address or session ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "selected", "deleted"),
    [
        ("delete_same_address", ["first"], {"first", "second", "new_session"}),
        ("delete_same_session", ["first"], {"first", "second", "roaming"}),
        (
            "delete_same_address",
            ["first", "roaming"],
            {"first", "second", "new_session", "roaming"},
        ),
        ("delete_same_session", ["new_session"], {"new_session"}),
    ],
)
def test_delete_same_poster(
    admin_client, spam, post, media_root, on_commit, name, selected, deleted
):
    image = media_root / spam["second"].image.name
    page = action(admin_client, name, [spam[key] for key in selected])
    assert page.status_code == 200
    assert page.templates[0].name == PostAdmin.same_poster_confirmation_template
    shown = {p.text for p in page.context["posts"]}
    assert shown == {spam[key].text for key in deleted}
    assert page.context["post_count"] == len(deleted)
    content = page.content.decode()
    assert f'<input type="hidden" name="action" value="{name}">' in content
    assert "Yes, I’m sure" in content
    assert Post.objects.count() == 6  # nothing deleted yet
    with on_commit():
        response = confirm(admin_client, page)
    assert response.redirect_chain == [(CHANGELIST, 302)]
    count = len(deleted)
    noun = "post" if count == 1 else "posts"
    assert f"{count} {noun} deleted." in response.content.decode()
    assert texts() == {p.text for p in spam.values()} - shown | {"Hello from Alice"}
    assert image.exists() == ("second" not in deleted)
    entries = LogEntry.objects.filter(action_flag=DELETION)
    assert {int(e.object_id) for e in entries} == {spam[key].pk for key in deleted}


def test_confirmation_page_explains(admin_client, spam):
    page = action(admin_client, "delete_same_address", [spam["first"]])
    content = page.content.decode()
    assert "Every post sent from these addresses will be deleted:" in content
    assert "<code>203.0.113.66</code>" in content
    assert "That is 3 posts, with their likes and images." in content
    assert "Several people may share an address" in content
    assert "Posts: 3" in content
    change = reverse("admin:ublog_posts_post_change", args=[spam["second"].pk])
    assert f'href="{change}"' in content
    page = action(admin_client, "delete_same_session", [spam["other"]])
    content = page.content.decode()
    assert "Every post sent from these sessions will be deleted:" in content
    assert "<code>77777777</code>" in content
    assert "That is 1 post, with its likes and image." in content
    assert "Several people" not in content


def test_likes_go_with_the_posts(admin_client, spam, user, on_commit, cache_on):
    Like.objects.create(user=user, post=spam["first"])
    page = action(admin_client, "delete_same_session", [spam["first"]])
    assert "Likes: 1" in page.content.decode()
    token = list_cache.generation()
    with on_commit():
        confirm(admin_client, page)
    assert not Like.objects.exists()
    assert list_cache.generation() != token


def test_posts_arriving_after_the_confirmation_page_are_kept(admin_client, spam):
    page = action(admin_client, "delete_same_address", [spam["first"]])
    anonymous("spam four, too late", "203.0.113.66", "5" * 32)
    response = confirm(admin_client, page)
    assert "3 posts deleted." in response.content.decode()
    assert "spam four, too late" in texts()


def test_confirming_again_deletes_nothing_more(admin_client, spam):
    page = action(admin_client, "delete_same_address", [spam["first"]])
    confirm(admin_client, page)
    left = texts()
    # A second submit (back button): the selected posts are gone.
    response = confirm(admin_client, page)
    assert texts() == left
    assert response.status_code == 200


def test_a_bad_last_shown_field_shows_the_page_again(admin_client, spam):
    data = {
        "action": "delete_same_address",
        "_selected_action": [spam["first"].pk],
        "post": "yes",
        LAST_SHOWN_FIELD: "nope",
    }
    response = admin_client.post(CHANGELIST, data)
    assert response.status_code == 200
    assert response.context["post_count"] == 3
    assert Post.objects.count() == 5


def test_a_confirmation_of_posts_gone_meanwhile(admin_client, spam):
    page = action(admin_client, "delete_same_session", [spam["other"]])
    data = {
        "action": "delete_same_session",
        "_selected_action": [spam["other"].pk, spam["first"].pk],
        "post": "yes",
        LAST_SHOWN_FIELD: 0,
    }
    response = admin_client.post(CHANGELIST, data, follow=True)
    assert "0 posts deleted." in response.content.decode()
    assert Post.objects.count() == 5
    assert page.context["last_shown"] == spam["other"].pk


@pytest.mark.parametrize("name", ["delete_same_address", "delete_same_session"])
def test_logged_in_posts_are_never_deleted_this_way(admin_client, post, spam, name):
    response = action(admin_client, name, [post], follow=True)
    what = "address" if name == "delete_same_address" else "session"
    message = f"None of the selected posts has a recorded {what}"
    assert message in response.content.decode()
    assert Post.objects.count() == 6
    # Anonymous posts from before addresses and sessions were recorded: the
    # same.
    bare = anonymous("from the old days")
    response = action(admin_client, name, [bare], follow=True)
    assert message in response.content.decode()
    assert Post.objects.count() == 7


def test_the_list_shows_at_most_so_many(admin_client, spam, monkeypatch):
    monkeypatch.setattr(PostAdmin, "same_poster_max_display", 1)
    page = action(admin_client, "delete_same_address", [spam["first"]])
    assert len(list(page.context["posts"])) == 1
    assert "… and 2 more posts." in page.content.decode()
    monkeypatch.setattr(PostAdmin, "same_poster_max_display", 2)
    page = action(admin_client, "delete_same_address", [spam["first"]])
    assert "… and 1 more post." in page.content.decode()
    # All of them are deleted, shown or not.
    response = confirm(admin_client, page)
    assert "3 posts deleted." in response.content.decode()


def test_without_permission_to_delete_likes(django_user_model, spam, user):
    Like.objects.create(user=user, post=spam["first"])
    client = user_with(django_user_model, "view_post", "delete_post")
    page = action(client, "delete_same_address", [spam["first"]])
    content = page.content.decode()
    assert page.context["title"] == "Cannot delete posts"
    assert "your account doesn't have permission" in content
    assert "Yes, I’m sure" not in content
    data = {
        "action": "delete_same_address",
        "_selected_action": [spam["first"].pk],
        "post": "yes",
        LAST_SHOWN_FIELD: page.context["last_shown"],
    }
    assert client.post(CHANGELIST, data).status_code == 403
    assert Post.objects.count() == 5


def test_protected_related_objects_stop_the_deletion(admin_client, spam, monkeypatch):
    def get_deleted_objects(self, objs, request):
        return [], {}, set(), ["a protected object"]

    monkeypatch.setattr(PostAdmin, "get_deleted_objects", get_deleted_objects)
    page = action(admin_client, "delete_same_address", [spam["first"]])
    assert "protected related objects" in page.content.decode()
    response = confirm(admin_client, page)
    assert response.status_code == 200
    assert Post.objects.count() == 5


def test_without_permission_to_delete_posts(moderator, spam):
    client = Client()
    client.force_login(moderator)
    data = {
        "action": "delete_same_address",
        "_selected_action": [spam["first"].pk],
        "post": "yes",
        LAST_SHOWN_FIELD: spam["other"].pk,
    }
    client.post(CHANGELIST, data)
    assert Post.objects.count() == 5
