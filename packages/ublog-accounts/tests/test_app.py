"""App wiring: config, URL names, templates, no pending migrations."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.template.loader import get_template
from django.urls import reverse

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
]


def test_app_config():
    config = apps.get_app_config("ublog_accounts")
    assert config.default_auto_field == "django.db.models.BigAutoField"
    assert str(config.verbose_name) == "ublog accounts"
    assert list(config.get_models()) == []


@pytest.mark.parametrize(
    ("name", "kwargs", "path"),
    [
        ("signup", {}, "/accounts/signup/"),
        ("signup_done", {}, "/accounts/signup/done/"),
        ("activation_complete", {}, "/accounts/activate/complete/"),
        ("activate", {"activation_key": "k:e:y"}, "/accounts/activate/k:e:y/"),
        ("login", {}, "/accounts/login/"),
        ("logout", {}, "/accounts/logout/"),
    ],
)
def test_url_names(name, kwargs, path):
    assert reverse(f"ublog_accounts:{name}", kwargs=kwargs) == path


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_exist(name):
    assert get_template(f"ublog_accounts/{name}")


def test_base_template_blocks():
    source = get_template("ublog_accounts/base.html").template.source
    for block in ("title", "extra_head", "content", "extra_js"):
        assert f"{{% block {block} %}}" in source


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
