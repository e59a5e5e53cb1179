"""The site in German (``[ublog] language_code = de``): every page a visitor
can reach and every e-mail the site sends, rendered from the compiled
catalogs the wheels ship, holds no English string of our three catalogs
(texts, attributes, e-mail subjects and bodies), and each page says
``lang="de"``.

A string counts as English when a literal stretch of its msgid (the text
between placeholders and HTML tags, two words or more) is in the output
while its German translation differs. So that this cannot pass by
rendering little, most of each catalog's messages must be seen translated.
"""

import html
import io
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation
from PIL import Image

import ublog_accounts
import ublog_posts
import ublog_site
from ublog_accounts import activation
from ublog_posts.models import Like, Post

pytestmark = pytest.mark.django_db

MODULES = (ublog_posts, ublog_accounts, ublog_site)
PASSWORD = "ein langes und seltenes Passwort"
#: Placeholders and tags, which split a msgid into literal stretches.
NOT_LITERAL = re.compile(r"%\(\w+\)[sd]|%[sd]|<[^>]*>|\{\{[^}]*\}\}")
#: Share of each catalog's messages that must be seen translated.
MIN_SEEN = 0.8


def catalog(module):
    path = Path(module.__file__).parent / "locale/de/LC_MESSAGES/django.po"
    with path.open("rb") as po:
        return [message for message in read_po(po, locale="de") if message.id]


def forms(message):
    """(English, German) pairs of a message: both plural forms if it has them."""
    if message.pluralizable:
        return list(zip(message.id, message.string, strict=False))
    return [(message.id, message.string)]


def stretches(text):
    """The literal stretches of *text* of two words or more, whitespace
    collapsed."""
    for part in NOT_LITERAL.split(text):
        part = " ".join(part.split()).strip(" .,:;!?()“”")
        if len(part.split()) >= 2:
            yield part


def normalized(output):
    return " ".join(html.unescape(output).split())


@pytest.fixture
def german(settings, media_root):
    settings.LANGUAGE_CODE = "de"
    settings.UBLOG_POSTS_PER_PAGE = 1
    with translation.override("de"):
        yield


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


class Outputs:
    """What the visitors got: each page and e-mail, by name."""

    def __init__(self):
        self.items = {}

    def page(self, name, response, status=200):
        assert response.status_code == status, (name, response.status_code)
        content = response.content.decode()
        assert re.search(r'<html lang="de"', content), f"{name}: not lang=de"
        self.items[name] = content
        return content

    def mails(self):
        for number, message in enumerate(mail.outbox):
            self.items[f"mail {number}: {message.subject}"] = (
                message.subject + "\n" + message.body
            )


def signup_data(username, email=None):
    return {
        "username": username,
        "email": email or f"{username.encode('ascii', 'replace').decode()}@example.org",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }


def pending_key(client, username):
    """Sign *username* up; the path of its activation link."""
    client.post("/accounts/signup/", signup_data(username))
    link = re.search(
        r"https?://testserver(/accounts/activate/\S+/)", mail.outbox[-1].body
    )
    return link[1]


def picture():
    buffer = io.BytesIO()
    Image.new("RGB", (900, 600), "teal").save(buffer, "JPEG")
    return SimpleUploadedFile("bild.jpg", buffer.getvalue(), "image/jpeg")


def visit_everything(settings):
    """Every page and e-mail, in the states that show different strings."""
    out = Outputs()
    anonymous, alice = Client(), Client()
    User = get_user_model()
    owner = User.objects.create_user("alice", "alice@example.org", PASSWORD)
    User.objects.create_user("bob", "bob@example.org", PASSWORD)

    # Accounts: sign-up (errors, done, the mail), activation, log-in.
    out.page("signup", anonymous.get("/accounts/signup/"))
    out.page(
        "signup with errors",
        anonymous.post(
            "/accounts/signup/",
            {"username": "alice", "email": "x", "password1": "a", "password2": "b"},
        ),
    )
    anonymous.post(
        "/accounts/signup/",
        {
            "username": "carla",
            "email": "carla@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    out.page("signup done", anonymous.get("/accounts/signup/done/"))
    anonymous.post(  # the address of an account: its owner is told
        "/accounts/signup/",
        {
            "username": "alice2",
            "email": "alice@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    first_link = re.search(
        r"https?://testserver(/accounts/activate/\S+/)", mail.outbox[0].body
    )
    out.page("activate", anonymous.get(first_link[1]))
    anonymous.post(first_link[1])
    out.page("activation complete", anonymous.get("/accounts/activate/complete/"))
    out.page("already active", anonymous.get(first_link[1]))
    out.page(
        "activation failed",
        anonymous.get("/accounts/activate/nonsense:key/"),
        status=400,
    )
    for name in ["admin", "bob\u200b", "p\u0430ypal"]:  # reserved, invisible, mixed
        out.page(
            f"signup as {name!r}",
            anonymous.post("/accounts/signup/", signup_data(name)),
        )
    revoked, unknown, expired = (
        pending_key(anonymous, name) for name in ["dora", "emil", "fritz"]
    )
    activation.start(User.objects.get(username="dora"))  # a new link: old revoked
    User.objects.get(username="emil").delete()
    out.page("activation revoked", anonymous.get(revoked), status=400)
    out.page("activation unknown user", anonymous.get(unknown), status=400)
    settings.UBLOG_ACCOUNTS_ACTIVATION_DAYS = -1
    out.page("activation expired", anonymous.get(expired), status=400)
    settings.UBLOG_ACCOUNTS_ACTIVATION_DAYS = 7
    out.page("resend", anonymous.get("/accounts/resend/"))
    out.page(
        "resend done",
        anonymous.post(
            "/accounts/resend/", {"email": "nobody@example.org"}, follow=True
        ),
    )
    out.page("login", anonymous.get("/accounts/login/"))
    out.page(
        "login with errors",
        anonymous.post("/accounts/login/", {"username": "alice", "password": "no"}),
    )
    settings.UBLOG_ACCOUNTS_SIGNUP_OPEN = False
    out.page("signup closed", anonymous.get("/accounts/signup/"))
    settings.UBLOG_ACCOUNTS_SIGNUP_OPEN = True

    # Password reset, by e-mail.
    out.page("password reset", anonymous.get("/accounts/password/reset/"))
    out.page(
        "password reset done",
        anonymous.post(
            "/accounts/password/reset/", {"email": "bob@example.org"}, follow=True
        ),
    )
    reset = re.search(r"https?://testserver(/\S+/)", mail.outbox[-1].body)
    confirm = out.page("password reset confirm", anonymous.get(reset[1], follow=True))
    assert "new_password1" in confirm
    out.page(
        "password reset complete",
        anonymous.post(
            anonymous.get(reset[1]).url or reset[1],
            {"new_password1": PASSWORD + "!", "new_password2": PASSWORD + "!"},
            follow=True,
        ),
    )
    out.page("password reset link invalid", anonymous.get(reset[1], follow=True))

    # Posts, anonymously: the list (paginated, searched), a post with an
    # image, the form with errors, a post held for moderation.
    alice.force_login(owner)
    alice.post(
        "/new/", {"text": "Ein Bild", "image": picture(), "image_alt": "Ein Bild"}
    )
    alice.post("/new/", {"text": "Hallo Welt"})
    post = Post.objects.get(text="Ein Bild")
    Like.objects.create(user=owner, post=post)
    out.page("list", anonymous.get("/"))
    out.page("list page 2", anonymous.get("/?page=2"))
    out.page("search", anonymous.get("/?q=Bild"))
    out.page("search without results", anonymous.get("/?q=nichts"))
    out.page("detail", anonymous.get(f"/{post.pk}/"))
    out.page("profile", anonymous.get("/users/alice/"))
    out.page("profile liked", anonymous.get("/users/alice/liked/"))
    out.page("profile without likes", anonymous.get("/users/bob/liked/"))
    out.page("new post", anonymous.get("/new/"))
    out.page(
        "new post with errors",
        anonymous.post("/new/", {"text": "", "image": picture()}),
    )
    out.page(
        "new post with a broken image",
        anonymous.post(
            "/new/",
            {
                "text": "x",
                "image": SimpleUploadedFile("x.png", b"nope"),
                "image_alt": "x",
            },
        ),
    )
    settings.UBLOG_POSTS_ANONYMOUS_POSTS = "moderated"
    out.page(
        "post held for moderation",
        anonymous.post("/new/", {"text": "Bitte freigeben"}, follow=True),
    )
    settings.UBLOG_POSTS_ANONYMOUS_POSTS = "open"

    # Signed in: likes, edit, delete, password change, a post not one's own.
    out.page("list signed in", alice.get("/"))
    out.page("edit", alice.get(f"/{post.pk}/edit/"))
    out.page("delete", alice.get(f"/{post.pk}/delete/"))
    out.page("password change", alice.get("/accounts/password/change/"))
    out.page(
        "password change done",
        alice.post(
            "/accounts/password/change/",
            {
                "old_password": PASSWORD,
                "new_password1": PASSWORD + "?",
                "new_password2": PASSWORD + "?",
            },
            follow=True,
        ),
    )
    bobs = Post.objects.create(
        text="Bobs Beitrag", owner=User.objects.get(username="bob")
    )
    out.page("403", alice.get(f"/{bobs.pk}/edit/"), status=403)
    out.page("403 anonymous", render_403_anonymous(), status=403)
    out.page("404", anonymous.get("/users/niemand/"), status=404)

    # The admin's pages of the apps: lists, forms, moderation actions.
    admin = Client()
    admin.force_login(User.objects.create_superuser("chef", "chef@example.org", "x"))
    pending = Post.objects.create(
        text="Wartet", status=Post.Status.PENDING, poster_address="192.0.2.7"
    )
    out.page("admin posts", admin.get("/admin/ublog_posts/post/"))
    out.page("admin post", admin.get(f"/admin/ublog_posts/post/{pending.pk}/change/"))
    out.page("admin likes", admin.get("/admin/ublog_posts/like/"))
    out.page(
        "admin like",
        admin.get(f"/admin/ublog_posts/like/{Like.objects.get().pk}/change/"),
    )
    out.page(
        "admin delete same address",
        admin.post(
            "/admin/ublog_posts/post/",
            {"action": "delete_same_address", "_selected_action": [pending.pk]},
        ),
    )
    out.page(
        "admin publish",
        admin.post(
            "/admin/ublog_posts/post/",
            {"action": "publish_selected", "_selected_action": [pending.pk]},
            follow=True,
        ),
    )
    out.items["429"] = render_to_string("429.html", request=RequestFactory().get("/"))
    out.items["500"] = render_to_string("500.html")
    out.mails()
    return out.items


def render_403_anonymous():
    from django.http import HttpResponseForbidden

    request = RequestFactory().get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    return HttpResponseForbidden(render_to_string("403.html", request=request))


def test_every_page_and_mail_in_german(german, settings):
    outputs = visit_everything(settings)
    assert len([name for name in outputs if name.startswith("mail")]) >= 3
    everything = {name: normalized(text) for name, text in outputs.items()}
    english = []
    for module in MODULES:
        messages = catalog(module)
        unseen = []
        for message in messages:
            shown = False
            for source, target in forms(message):
                if " ".join(target.split()) == " ".join(source.split()):
                    continue
                for stretch in stretches(source):
                    english += [
                        f"{name}: {stretch!r} ({module.__name__})"
                        for name, text in everything.items()
                        if stretch in text
                    ]
                for stretch in list(stretches(target)) or [target.strip()]:
                    shown |= any(stretch in text for text in everything.values())
            if not shown:
                unseen.append(message.id)
        seen = len(messages) - len(unseen)
        assert seen >= MIN_SEEN * len(messages), (
            f"{module.__name__}: {seen} of {len(messages)} messages seen; not: {unseen}"
        )
    assert not english, "English left:\n" + "\n".join(english)
