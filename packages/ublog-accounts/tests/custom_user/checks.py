"""Sign-up and activation with EmailUser (run by test_custom_user.py)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from ublog_accounts.forms import SignupForm

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def test_signup_and_activation_with_email_as_username(client):
    assert get_user_model()._meta.label == "custom_user.EmailUser"
    assert list(SignupForm.base_fields) == ["email", "password1", "password2"]
    data = {"email": "dora@example.com", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post(reverse("ublog_accounts:signup"), data)
    assert response.status_code == 302, response.context["form"].errors
    user = get_user_model().objects.get()
    assert not user.is_active
    url = re.search(r"http://\S+/activate/\S+/", mail.outbox[0].body).group(0)
    assert "dora@example.com" in mail.outbox[0].body
    assert client.get(url).status_code == 200
    client.post(url)
    user.refresh_from_db()
    assert user.is_active
    assert client.login(email="dora@example.com", password=PASSWORD)


def test_duplicate_email_is_case_insensitive(client):
    get_user_model().objects.create_user("dora@example.com", PASSWORD)
    data = {"email": "DORA@example.com", "password1": PASSWORD, "password2": PASSWORD}
    form = SignupForm(data=data)
    assert not form.is_valid()
    assert form.has_error("email", "duplicate_username")
