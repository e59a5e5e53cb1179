"""What the app carries besides code: demo accounts to load in development
(``loaddata ublog_accounts_demo``) and the styles of its pages, found by
staticfiles and linked from its base template."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.templatetags.static import static
from django.urls import reverse

from ublog_accounts.models import PendingActivation

#: The password of every demo account (README.rst says so).
DEMO_PASSWORD = "ublog demo password"

pytestmark = pytest.mark.django_db


def test_demo_accounts_load_and_log_in(client, settings):
    # Django's default hasher, which the fixture's hashes use (the test
    # settings use a fast one).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    call_command("loaddata", "ublog_accounts_demo", verbosity=0)
    User = get_user_model()
    active = User.objects.filter(is_active=True).order_by("username")
    assert [u.username for u in active] == ["demo-alice", "demo-bob"]
    carol = User.objects.get(username="demo-carol")
    assert not carol.is_active
    assert PendingActivation.objects.get().user == carol
    response = client.post(
        reverse("ublog_accounts:login"),
        {"username": "demo-alice", "password": DEMO_PASSWORD},
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(active[0].pk)


def test_loading_twice_or_beside_real_users_changes_no_one_else():
    User = get_user_model()
    admin = User.objects.create_superuser("admin", "admin@example.org", "secret")
    call_command("loaddata", "ublog_accounts_demo", verbosity=0)
    call_command("loaddata", "ublog_accounts_demo", verbosity=0)
    assert User.objects.count() == 4
    admin.refresh_from_db()
    assert admin.username == "admin" and admin.check_password("secret")


def test_the_styles_are_found_and_linked(client):
    path = finders.find("ublog_accounts/accounts.css")
    assert path, "staticfiles does not find ublog_accounts/accounts.css"
    with open(path) as css:
        assert ".ublog-accounts" in css.read()
    content = client.get(reverse("ublog_accounts:login")).content.decode()
    assert (
        f'<link rel="stylesheet" href="{static("ublog_accounts/accounts.css")}">'
        in (content)
    )
    assert '<main class="ublog-accounts">' in content
