"""Sign-up: the form, the view, the activation e-mail, addresses in use."""

import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse

from tests.conftest import PASSWORD, mail_errors
from ublog_accounts import activation, signals
from ublog_accounts.forms import SignupForm
from ublog_accounts.models import PendingActivation
from ublog_accounts.views import SignupView

pytestmark = pytest.mark.django_db

SIGNUP = reverse("ublog_accounts:signup")
DONE = reverse("ublog_accounts:signup_done")
User = get_user_model()


def data(**overrides):
    values = {
        "username": "carol",
        "email": "carol@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    values.update(overrides)
    return values


def activation_url_from(message):
    match = re.search(r"https?://\S+/accounts/activate/\S+/", message.body)
    assert match, message.body
    return match.group(0)


def outcome(client, **overrides):
    """Everything the visitor sees after signing up: status codes, redirects
    and the page finally shown."""
    response = client.post(SIGNUP, data(**overrides), follow=True)
    return response.status_code, response.redirect_chain, response.content


@pytest.fixture
def registered():
    """The users ``user_registered`` was sent for, while the test runs."""
    received = []
    signals.user_registered.connect(
        lambda **kwargs: received.append(kwargs["user"]), weak=False, dispatch_uid="t"
    )
    yield received
    signals.user_registered.disconnect(dispatch_uid="t")


def test_get_shows_form(client):
    response = client.get(SIGNUP)
    assert response.status_code == 200
    assert "ublog_accounts/signup.html" in [t.name for t in response.templates]
    content = response.content.decode()
    assert 'name="email"' in content
    assert "csrfmiddlewaretoken" in content
    assert content.startswith("<!DOCTYPE html>")


def test_signup_creates_inactive_user_and_sends_one_email(client, registered):
    response = client.post(SIGNUP, data())
    assert response.status_code == 302
    assert response.url == DONE
    user = User.objects.get(username="carol")
    assert not user.is_active
    assert user.email == "carol@example.com"
    assert user.check_password(PASSWORD)
    assert activation.is_pending(user)
    assert registered == [user]

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["carol@example.com"]
    assert message.from_email == "ublog <noreply@example.com>"
    assert message.subject == "Activate your account on testserver"
    assert "\n" not in message.subject
    assert "carol" in message.body
    assert "7 days" in message.body

    url = activation_url_from(message)
    assert url.startswith("http://testserver/accounts/activate/")
    # The link really works: it shows the form, and POSTing it activates.
    assert client.get(url).status_code == 200
    response = client.post(url)
    assert response.url == reverse("ublog_accounts:activation_complete")
    user.refresh_from_db()
    assert user.is_active
    assert not PendingActivation.objects.exists()


def test_email_uses_request_host_and_scheme(client):
    client.post(SIGNUP, data(), headers={"host": "example.com"}, secure=True)
    message = mail.outbox[0]
    assert message.subject == "Activate your account on example.com"
    assert "https://example.com/accounts/activate/" in message.body


def test_email_is_plain_text_not_html_escaped():
    context = {
        "user": User(username="o'brien&co"),
        "site_name": "a&b",
        "activation_url": "http://a&b/x?y=1&z=2",
        "expiration_days": 1,
    }
    body = render_to_string("ublog_accounts/activation_email_body.txt", context)
    subject = render_to_string("ublog_accounts/activation_email_subject.txt", context)
    assert "Hello o'brien&co," in body
    assert "http://a&b/x?y=1&z=2" in body
    assert "1 day." in body
    assert subject.strip() == "Activate your account on a&b"


def test_signup_done_page(client):
    response = client.get(DONE)
    assert response.status_code == 200
    assert b"Check your e-mail" in response.content
    assert b"7 days" in response.content
    assert reverse("ublog_accounts:resend_activation").encode() in response.content


@pytest.mark.parametrize("username", ["alice", "ALICE", "Alice"])
def test_duplicate_username_case_insensitive(client, make_user, username):
    make_user("alice", "someone@example.com")
    response = client.post(SIGNUP, data(username=username))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["username"] == ["A user with that username already exists."]
    assert form.has_error("username", "duplicate_username")
    assert b"A user with that username already exists." in response.content
    assert User.objects.count() == 1
    assert mail.outbox == []


@pytest.mark.parametrize("pending", [True, False])
def test_username_of_an_inactive_account_with_another_address_is_taken(
    client, make_user, pending
):
    make_user("alice", "alice@example.com", active=False, pending=pending)
    response = client.post(SIGNUP, data(username="alice"))
    assert response.status_code == 200
    assert response.context["form"].has_error("username", "duplicate_username")
    assert User.objects.count() == 1


def test_username_of_a_deactivated_account_with_the_address_is_taken(
    client, deactivated_user
):
    form = SignupForm(data=data(username="dave", email="dave@example.com"))
    assert form.has_error("username", "duplicate_username")


def test_form_does_not_tell_whether_an_address_is_in_use(make_user):
    make_user("alice", "alice@example.com")
    make_user("dave", "dave@example.com", active=False, pending=False)
    for email in ("alice@example.com", "ALICE@Example.COM", "dave@example.com"):
        form = SignupForm(data=data(email=email))
        assert form.is_valid(), form.errors
    assert "duplicate_email" not in SignupForm.error_messages


def test_model_unique_checks_leave_out_username_and_email(monkeypatch):
    seen = []

    def validate_unique(self, exclude=None):
        seen.append(set(exclude))
        raise ValidationError("Another unique value is taken.", code="unique")

    monkeypatch.setattr(User, "validate_unique", validate_unique)
    form = SignupForm(data=data())
    assert not form.is_valid()
    assert form.non_field_errors() == ["Another unique value is taken."]
    assert {"username", "email"} <= seen[0]


def test_signup_again_with_same_username_and_address_replaces_pending(
    client, registered
):
    client.post(SIGNUP, data())
    first = User.objects.get()
    first_url = activation_url_from(mail.outbox[0])
    other = "another password 1234567"
    response = client.post(SIGNUP, data(password1=other, password2=other))
    assert response.status_code == 302
    assert response.url == DONE
    second = User.objects.get()
    assert second.pk != first.pk
    assert second.check_password(other)
    assert registered == [first, second]
    assert len(mail.outbox) == 2
    # The first link belonged to the deleted account; the second one works.
    response = client.post(first_url)
    assert response.context["activation_error"].code == "bad_username"
    second.refresh_from_db()
    assert not second.is_active
    client.post(activation_url_from(mail.outbox[1]))
    second.refresh_from_db()
    assert second.is_active


def test_last_signup_with_an_address_wins(client, make_user):
    make_user("mallory", "carol@example.com", active=False)
    make_user("erin", "erin@example.com", active=False)
    response = client.post(SIGNUP, data(email="CAROL@example.com"))
    assert response.url == DONE
    usernames = set(User.objects.values_list("username", flat=True))
    assert usernames == {"carol", "erin"}
    assert set(PendingActivation.objects.values_list("user__username", flat=True)) == {
        "carol",
        "erin",
    }
    # "mallory" is free again.
    assert SignupForm(data=data(username="mallory", email="m@example.com")).is_valid()
    assert [message.to for message in mail.outbox] == [["CAROL@example.com"]]


def test_address_of_an_active_account_gets_a_notice(client, make_user, registered):
    alice = make_user("alice", "alice@example.com")
    response = client.post(SIGNUP, data(email="ALICE@Example.COM"))
    assert response.status_code == 302
    assert response.url == DONE
    assert list(User.objects.all()) == [alice]
    assert not PendingActivation.objects.exists()
    assert registered == []
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "Sign-up attempt with your address on testserver"
    assert "named alice" in message.body
    assert "http://testserver/accounts/login/" in message.body
    assert "http://testserver/accounts/password/reset/" in message.body
    assert "/activate/" not in message.body


def test_active_account_wins_over_a_pending_one(client, make_user):
    make_user("alice", "carol@example.com")
    make_user("mallory", "carol@example.com", active=False)
    client.post(SIGNUP, data())
    assert set(User.objects.values_list("username", flat=True)) == {"alice", "mallory"}
    assert len(mail.outbox) == 1
    assert "named alice" in mail.outbox[0].body


def test_notice_is_plain_text_not_html_escaped():
    context = {
        "user": User(username="o'brien&co"),
        "site_name": "a&b",
        "login_url": "http://a&b/login/?x=1&y=2",
        "password_reset_url": "http://a&b/reset/",
    }
    body = render_to_string("ublog_accounts/account_exists_email_body.txt", context)
    subject = render_to_string(
        "ublog_accounts/account_exists_email_subject.txt", context
    )
    assert "Hello o'brien&co," in body
    assert "http://a&b/login/?x=1&y=2" in body
    assert subject.strip() == "Sign-up attempt with your address on a&b"


def test_address_of_a_deactivated_account_creates_and_sends_nothing(
    client, deactivated_user, registered, caplog
):
    with caplog.at_level(logging.INFO, logger="ublog_accounts"):
        response = client.post(SIGNUP, data(email="dave@example.com"))
    assert response.status_code == 302
    assert response.url == DONE
    assert list(User.objects.all()) == [deactivated_user]
    assert not PendingActivation.objects.exists()
    assert mail.outbox == []
    assert registered == []
    [record] = [r for r in caplog.records if r.name == "ublog_accounts"]
    assert record.levelname == "INFO"
    assert str(deactivated_user.pk) in record.getMessage()


def test_deactivated_account_wins_over_a_pending_one(client, make_user):
    make_user("dave", "carol@example.com", active=False, pending=False)
    make_user("mallory", "carol@example.com", active=False)
    client.post(SIGNUP, data())
    assert set(User.objects.values_list("username", flat=True)) == {"dave", "mallory"}
    assert mail.outbox == []


def test_visitor_cannot_tell_whether_an_address_is_in_use(client, make_user):
    make_user("alice", "alice@example.com")
    make_user("mallory", "mallory@example.com", active=False)
    make_user("dave", "dave@example.com", active=False, pending=False)
    outcomes = [
        outcome(client, username="carol", email="carol@example.com"),  # unknown
        outcome(client, username="carol2", email="alice@example.com"),  # active
        outcome(client, username="carol3", email="mallory@example.com"),  # pending
        outcome(client, username="carol4", email="dave@example.com"),  # deactivated
    ]
    assert outcomes[0][0] == 200
    assert outcomes[0][1] == [(DONE, 302)]
    assert b"Check your e-mail" in outcomes[0][2]
    assert all(other == outcomes[0] for other in outcomes[1:])
    # What happened behind the page:
    assert [message.to for message in mail.outbox] == [
        ["carol@example.com"],
        ["alice@example.com"],
        ["mallory@example.com"],
    ]
    assert set(User.objects.values_list("username", flat=True)) == {
        "carol",
        "alice",
        "carol3",
        "dave",
    }


def test_failing_mail_server_keeps_the_account(client, smtp_down, caplog, registered):
    response = client.post(SIGNUP, data())
    assert response.status_code == 302
    assert response.url == DONE
    user = User.objects.get()
    assert not user.is_active
    assert activation.is_pending(user)
    assert registered == [user]
    [record] = mail_errors(caplog)
    assert "Activate your account on testserver" in record.getMessage()


def test_failing_mail_server_and_an_active_address(
    client, active_user, smtp_down, caplog
):
    response = client.post(SIGNUP, data(email="bob@example.com"))
    assert response.status_code == 302
    assert response.url == DONE
    assert len(mail_errors(caplog)) == 1
    assert list(User.objects.all()) == [active_user]


def test_other_errors_roll_back_the_whole_signup(client, make_user, monkeypatch):
    make_user("mallory", "carol@example.com", active=False)

    def broken(self, user):
        raise RuntimeError("the mail queue is broken")

    monkeypatch.setattr(SignupView, "send_activation_email", broken)
    with pytest.raises(RuntimeError):
        client.post(SIGNUP, data())
    # Nothing happened: the replaced account and its pending row are back.
    assert list(User.objects.values_list("username", flat=True)) == ["mallory"]
    assert PendingActivation.objects.count() == 1


def test_password_mismatch(client):
    response = client.post(SIGNUP, data(password2="something else entirely"))
    assert response.status_code == 200
    assert response.context["form"].has_error("password2", "password_mismatch")
    assert not User.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("missing", ["username", "email", "password1", "password2"])
def test_required_fields(missing):
    form = SignupForm(data=data(**{missing: ""}))
    assert not form.is_valid()
    assert form.has_error(missing, "required")


def test_invalid_email():
    form = SignupForm(data=data(email="not-an-address"))
    assert form.has_error("email", "invalid")


def test_email_domain_is_normalized():
    form = SignupForm(data=data(email="Carol@EXAMPLE.com"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "Carol@example.com"


@pytest.mark.parametrize(
    ("username", "code"),
    [
        ("admin", "reserved_username"),
        ("Administrator", "reserved_username"),
        ("ＲＯＯＴ", "reserved_username"),  # fullwidth: NFKC makes it "ROOT"
        ("ublog", "reserved_username"),
        ("p\u0430ypal", "confusable_username"),  # a Cyrillic "а"
        ("ali\u200bce", "invisible_character"),
        ("ali\u200dce", "invisible_character"),
    ],
)
def test_refused_usernames(client, username, code):
    response = client.post(SIGNUP, data(username=username))
    assert response.status_code == 200
    assert response.context["form"].has_error("username", code)
    assert not User.objects.exists()
    assert mail.outbox == []


def test_reserved_usernames_setting(client, settings):
    settings.UBLOG_ACCOUNTS_RESERVED_USERNAMES = ["Carol"]
    response = client.post(SIGNUP, data())
    assert response.context["form"].has_error("username", "reserved_username")
    assert b"This name is reserved" in response.content


def test_invisible_character_message_names_it():
    form = SignupForm(data=data(username="bob\u200e"))
    assert form.has_error("username", "invisible_character")
    assert "U+200E" in form.errors["username"][0]


def test_signup_closed(client, settings):
    settings.UBLOG_ACCOUNTS_SIGNUP_OPEN = False
    response = client.get(SIGNUP)
    assert response.status_code == 200
    assert "ublog_accounts/signup_closed.html" in [t.name for t in response.templates]
    assert b"Sign-up closed" in response.content
    response = client.post(SIGNUP, data())
    assert b"Sign-up closed" in response.content
    assert not User.objects.exists()
    assert mail.outbox == []


def test_signup_open_by_default(client, settings):
    settings.UBLOG_ACCOUNTS_SIGNUP_OPEN = True
    assert b"Sign-up closed" not in client.get(SIGNUP).content


def test_hooks_can_be_overridden(rf):
    class CustomSignup(SignupView):
        def get_activation_key(self, user):
            return "custom-key"

        def get_email_context(self, activation_key, user):
            context = super().get_email_context(activation_key, user)
            context["site_name"] = "Custom Site"
            return context

    request = rf.post(SIGNUP, data())
    request._dont_enforce_csrf_checks = True
    response = CustomSignup.as_view()(request)
    assert response.status_code == 302
    message = mail.outbox[0]
    assert message.subject == "Activate your account on Custom Site"
    assert "/accounts/activate/custom-key/" in message.body


def test_outcome_hooks_can_be_overridden(rf, active_user):
    handled = []

    class CustomSignup(SignupView):
        def handle_active_account(self, form, user):
            handled.append(user)

    request = rf.post(SIGNUP, data(email="bob@example.com"))
    request._dont_enforce_csrf_checks = True
    assert CustomSignup.as_view()(request).status_code == 302
    assert handled == [active_user]
    assert mail.outbox == []
