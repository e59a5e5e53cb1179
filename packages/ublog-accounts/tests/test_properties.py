"""Properties: no random, mutated or forged key activates anything, and every
failure is one of the documented errors."""

from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.core import signing
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from ublog_accounts import activation
from ublog_accounts.exceptions import ActivationError

CODES = {"invalid_key", "expired", "bad_username", "already_activated", "revoked"}

# JSON values, as a signed payload may hold.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


class RandomKeys(TestCase):
    @classmethod
    def setUpTestData(cls):
        user_model = get_user_model()
        cls.user = user_model.objects.create_user(
            "alice", "alice@example.com", "pw", is_active=False
        )
        activation.start(cls.user)
        cls.key = activation.make_activation_key(cls.user)
        cls.nonce = cls.user.pending_activation.nonce
        # Another account waiting for activation, and one deactivated by an
        # administrator: keys must not cross over to them either.
        cls.other = user_model.objects.create_user(
            "carol", "carol@example.com", "pw", is_active=False
        )
        activation.start(cls.other)
        cls.deactivated = user_model.objects.create_user(
            "dave", "dave@example.com", "pw", is_active=False
        )

    def assert_not_activated(self):
        for user in (self.user, self.other, self.deactivated):
            user.refresh_from_db()
            self.assertFalse(user.is_active)

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

    @given(json_values)
    def test_signed_payloads_other_than_the_real_one_never_activate(self, payload):
        # Even with the secret key, only [pk, nonce] of a waiting account
        # activates: any other payload is invalid, unknown or revoked.
        real = [
            [str(user.pk), user.pending_activation.nonce]
            for user in (self.user, self.other)
        ]
        if payload in real:
            return
        key = signing.dumps(payload, salt=activation.SALT)
        with self.assertRaises(ActivationError) as info:
            activation.activate(key)
        self.assertIn(info.exception.code, CODES - {"expired"})
        self.assert_not_activated()

    @given(st.sampled_from(["user", "other", "deactivated"]), st.text(max_size=40))
    def test_guessed_nonces_never_activate(self, whom, nonce):
        user = getattr(self, whom)
        if whom == "user" and nonce == self.nonce:
            return
        key = signing.dumps([str(user.pk), nonce], salt=activation.SALT)
        with self.assertRaises(ActivationError) as info:
            activation.activate(key)
        self.assertEqual(info.exception.code, "revoked")
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
