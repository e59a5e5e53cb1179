"""The sign-up form: Django's UserCreationForm plus a required e-mail address."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.forms import UserCreationForm, UsernameField
from django.utils.translation import gettext_lazy as _

User = get_user_model()
USERNAME_FIELD = User.USERNAME_FIELD
EMAIL_FIELD = User.get_email_field_name()


class SignupForm(UserCreationForm):
    """Username, e-mail address and password (twice) for a new account.

    Works with any user model that has ``USERNAME_FIELD``, an e-mail field
    (``EMAIL_FIELD``, default ``email``) and an ``is_active`` field. Username
    and e-mail address must be unique, ignoring case.
    """

    error_messages = {
        **UserCreationForm.error_messages,
        "duplicate_username": _("A user with that username already exists."),
        "duplicate_email": _(
            "This e-mail address is already in use. Please use a different "
            "one, or log in to your existing account."
        ),
    }

    class Meta(UserCreationForm.Meta):
        model = User
        fields = tuple(dict.fromkeys((USERNAME_FIELD, EMAIL_FIELD)))
        # NFKC-normalise the username as Django does, unless it is the e-mail.
        field_classes = (
            {USERNAME_FIELD: UsernameField} if USERNAME_FIELD != EMAIL_FIELD else {}
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        email = self.fields[EMAIL_FIELD]
        email.required = True
        email.widget.attrs.setdefault("autocomplete", "email")
        if EMAIL_FIELD != USERNAME_FIELD:
            email.help_text = _("We will send a link to activate your account.")

    def clean_username(self):
        # UserCreationForm checks ``username__iexact`` here; clean() below
        # does that for any USERNAME_FIELD, so only return the value.
        return self.cleaned_data.get("username")

    def clean(self):
        cleaned_data = super().clean()
        email = cleaned_data.get(EMAIL_FIELD)
        if email:
            cleaned_data[EMAIL_FIELD] = BaseUserManager.normalize_email(email)
        self._reject_duplicate(USERNAME_FIELD, "duplicate_username")
        if EMAIL_FIELD != USERNAME_FIELD:
            self._reject_duplicate(EMAIL_FIELD, "duplicate_email")
        return cleaned_data

    def _reject_duplicate(self, field_name, code):
        """Add an error if another user has this value, ignoring case."""
        value = self.cleaned_data.get(field_name)
        if not value:
            return
        others = User._default_manager.filter(**{f"{field_name}__iexact": value})
        if others.exists():
            self.add_error(
                field_name,
                forms.ValidationError(self.error_messages[code], code=code),
            )
