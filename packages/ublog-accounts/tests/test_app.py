"""App wiring: config, model, URL names, templates, no pending migrations."""

import inspect
from importlib import import_module
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models
from django.template.loader import get_template
from django.urls import resolve, reverse

from ublog_accounts import views
from ublog_accounts.models import PendingActivation

TEMPLATES = [
    "base.html",
    "signup.html",
    "signup_done.html",
    "signup_closed.html",
    "activate.html",
    "activation_complete.html",
    "activation_failed.html",
    "login.html",
    "activation_email_subject.txt",
    "activation_email_body.txt",
    "account_exists_email_subject.txt",
    "account_exists_email_body.txt",
    "resend_activation.html",
    "resend_activation_done.html",
    "password_reset_form.html",
    "password_reset_done.html",
    "password_reset_confirm.html",
    "password_reset_complete.html",
    "password_reset_email_subject.txt",
    "password_reset_email_body.txt",
    "password_change_form.html",
    "password_change_done.html",
]


def test_app_config():
    config = apps.get_app_config("ublog_accounts")
    assert config.default_auto_field == "django.db.models.BigAutoField"
    assert str(config.verbose_name) == "ublog accounts"
    assert list(config.get_models()) == [PendingActivation]


def test_pending_activation_model():
    opts = PendingActivation._meta
    user = opts.get_field("user")
    assert user.primary_key
    assert user.one_to_one
    assert user.related_model is get_user_model()
    assert user.remote_field.on_delete is models.CASCADE
    assert user.remote_field.related_name == "pending_activation"
    assert opts.get_field("nonce").max_length == 32
    assert isinstance(opts.get_field("sent_at"), models.DateTimeField)
    assert [f.name for f in opts.get_fields()] == ["user", "nonce", "sent_at"]


@pytest.mark.parametrize(
    ("name", "kwargs", "path"),
    [
        ("signup", {}, "/accounts/signup/"),
        ("signup_done", {}, "/accounts/signup/done/"),
        ("activation_complete", {}, "/accounts/activate/complete/"),
        ("activate", {"activation_key": "k:e:y"}, "/accounts/activate/k:e:y/"),
        ("resend_activation", {}, "/accounts/resend/"),
        ("resend_activation_done", {}, "/accounts/resend/done/"),
        ("login", {}, "/accounts/login/"),
        ("logout", {}, "/accounts/logout/"),
        ("password_reset", {}, "/accounts/password/reset/"),
        ("password_reset_done", {}, "/accounts/password/reset/done/"),
        (
            "password_reset_confirm",
            {"uidb64": "MQ", "token": "a-b"},
            "/accounts/password/reset/MQ/a-b/",
        ),
        ("password_reset_complete", {}, "/accounts/password/reset/complete/"),
        ("password_change", {}, "/accounts/password/change/"),
        ("password_change_done", {}, "/accounts/password/change/done/"),
    ],
)
def test_url_names(name, kwargs, path):
    assert reverse(f"ublog_accounts:{name}", kwargs=kwargs) == path


@pytest.mark.parametrize(
    ("path", "view"),
    [
        ("/accounts/password/reset/done/", views.PasswordResetDoneView),
        ("/accounts/password/reset/complete/", views.PasswordResetCompleteView),
        ("/accounts/password/reset/MQ/set-password/", views.PasswordResetConfirmView),
        ("/accounts/resend/done/", views.ResendActivationDoneView),
    ],
)
def test_paths_resolve_to_the_right_view(path, view):
    assert resolve(path).func.view_class is view


@pytest.mark.parametrize(
    ("view", "url_name"),
    [
        (views.PasswordResetView, "password_reset_done"),
        (views.PasswordResetConfirmView, "password_reset_complete"),
        (views.PasswordChangeView, "password_change_done"),
        (views.ResendActivationView, "resend_activation_done"),
        (views.SignupView, "signup_done"),
    ],
)
def test_success_urls_stay_in_the_namespace(view, url_name):
    assert str(view.success_url) == reverse(f"ublog_accounts:{url_name}")


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_exist(name):
    assert get_template(f"ublog_accounts/{name}")


def test_base_template_blocks():
    source = get_template("ublog_accounts/base.html").template.source
    for block in ("title", "extra_head", "content", "extra_js"):
        assert f"{{% block {block} %}}" in source


@pytest.mark.parametrize(
    "name",
    [name for name in TEMPLATES if name.endswith(".html") and name != "base.html"],
)
def test_pages_extend_the_base(name):
    source = get_template(f"ublog_accounts/{name}").template.source
    assert source.startswith('{% extends "ublog_accounts/base.html" %}')


@pytest.mark.parametrize("name", [name for name in TEMPLATES if name.endswith(".txt")])
def test_mail_templates_are_plain_text(name):
    source = get_template(f"ublog_accounts/{name}").template.source
    assert source.startswith("{% autoescape off %}")


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.parametrize("name", ["0001_initial", "0002_pending_existing_signups"])
def test_migrations_depend_on_the_swappable_user_model(name):
    source = inspect.getsource(import_module(f"ublog_accounts.migrations.{name}"))
    assert "migrations.swappable_dependency(settings.AUTH_USER_MODEL)" in source
