"""Property: no random string activates anything or raises another error."""

from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from ublog_accounts import activation
from ublog_accounts.exceptions import ActivationError

CODES = {"invalid_key", "expired", "bad_username", "already_activated"}


class RandomKeys(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.user = get_user_model().objects.create_user(
            "alice", "alice@example.com", "pw", is_active=False
        )
        cls.key = activation.make_activation_key(cls.user)

    def assert_not_activated(self):
        self.user.refresh_from_db()
        self.assertFalse(self.user.is_active)

    @given(st.text(st.characters(), max_size=200))
    def test_random_text_never_activates(self, key):
        with self.assertRaises(ActivationError) as info:
            activation.activate(key)
        self.assertIn(info.exception.code, CODES)
        self.assert_not_activated()

    @given(st.integers(min_value=0), st.characters())
    def test_mutated_key_never_activates(self, position, char):
        position %= len(self.key)
        mutated = self.key[:position] + char + self.key[position + 1 :]
        if mutated == self.key:
            return
        with self.assertRaises(ActivationError) as info:
            activation.activate(mutated)
        self.assertEqual(info.exception.code, "invalid_key")
        self.assert_not_activated()

    @settings(max_examples=30, deadline=None)
    @given(
        st.text(
            st.characters(codec="utf-8", exclude_characters="/"),
            min_size=1,
            max_size=80,
        )
    )
    def test_random_url_keys_fail_cleanly(self, key):
        response = Client().post(f"/accounts/activate/{quote(key, safe='')}/")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.context["activation_error"].code, "invalid_key")
        self.assert_not_activated()
