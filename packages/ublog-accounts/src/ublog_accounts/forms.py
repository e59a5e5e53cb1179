"""Forms: sign-up (Django's UserCreationForm plus a required e-mail address),
"send the activation link again" and password reset."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.forms import UserCreationForm, UsernameField
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import activation, mail, validators

User = get_user_model()
USERNAME_FIELD = User.USERNAME_FIELD
EMAIL_FIELD = User.get_email_field_name()


class SignupForm(UserCreationForm):
    """Username, e-mail address and password (twice) for a new account.

    Works with any user model that has ``USERNAME_FIELD``, an e-mail field
    (``EMAIL_FIELD``, default ``email``) and an ``is_active`` field. The
    username must be unique, ignoring case, and pass
    ``validators.validate_username()``. Whether the e-mail address is in use
    is not checked here, so that the form does not tell: ``SignupView``
    handles that case.
    """

    error_messages = {
        **UserCreationForm.error_messages,
        "duplicate_username": _("A user with that username already exists."),
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
        self.fields[USERNAME_FIELD].validators.append(validators.validate_username)

    def clean_username(self):
        # UserCreationForm checks ``username__iexact`` here; clean() below
        # does that for any USERNAME_FIELD, so only return the value.
        return self.cleaned_data.get("username")

    def clean(self):
        cleaned_data = super().clean()
        email = cleaned_data.get(EMAIL_FIELD)
        if email:
            cleaned_data[EMAIL_FIELD] = BaseUserManager.normalize_email(email)
        if USERNAME_FIELD != EMAIL_FIELD:
            self._reject_duplicate_username()
        return cleaned_data

    def _reject_duplicate_username(self):
        """Add an error if another user has this username, ignoring case.

        An account waiting for activation with the same e-mail address does
        not count: this sign-up replaces it (see ``SignupView``).
        """
        username = self.cleaned_data.get(USERNAME_FIELD)
        if not username:
            return
        others = User._default_manager.filter(**{f"{USERNAME_FIELD}__iexact": username})
        email = self.cleaned_data.get(EMAIL_FIELD)
        if email:
            others = others.exclude(
                Q(**{f"{EMAIL_FIELD}__iexact": email})
                & Q(pk__in=activation.pending_users().values("pk"))
            )
        if others.exists():
            self.add_error(
                USERNAME_FIELD,
                ValidationError(
                    self.error_messages["duplicate_username"],
                    code="duplicate_username",
                ),
            )

    def validate_unique(self):
        # The username is checked (ignoring case) in clean(), and the model's
        # own unique checks of the username and the e-mail address would tell
        # whether an address has an account: leave both out.
        exclude = self._get_validation_exclusions() | {USERNAME_FIELD, EMAIL_FIELD}
        try:
            self.instance.validate_unique(exclude=exclude)
        except ValidationError as error:
            self._update_errors(error)


class ResendActivationForm(forms.Form):
    """The e-mail address of an account waiting for activation."""

    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form, sending its mail with ``ublog_accounts.mail``.

    A mail server that is down is logged on ``ublog_accounts`` and never
    fails the request, on every Django version (older Django releases let
    the error through: a server error only for known addresses).
    """

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        mail.send_templated(
            subject_template_name,
            email_template_name,
            context,
            [to_email],
            from_email=from_email,
            html_template=html_email_template_name,
        )
