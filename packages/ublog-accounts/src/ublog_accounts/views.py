"""Views: sign-up, activation (confirm on GET, activate on POST), sending the
activation link again, login, logout, password reset and password change.

Each view is a small class whose steps are methods, so a project can
subclass one and override only the step it needs. The password views are
Django's own, with this app's templates and URL names.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse, reverse_lazy
from django.views.generic import FormView, TemplateView

from . import activation, mail, signals
from .exceptions import ActivationError
from .forms import PasswordResetForm, ResendActivationForm, SignupForm

logger = logging.getLogger("ublog_accounts")


def signup_open():
    """Whether new accounts may be created (``UBLOG_ACCOUNTS_SIGNUP_OPEN``)."""
    return getattr(settings, "UBLOG_ACCOUNTS_SIGNUP_OPEN", True)


def email_of(user):
    """The e-mail address of ``user``."""
    return getattr(user, user.get_email_field_name())


class ActivationEmailMixin:
    """Build and send the e-mail with an activation link (sign-up, resend)."""

    email_subject_template = "ublog_accounts/activation_email_subject.txt"
    email_body_template = "ublog_accounts/activation_email_body.txt"

    def get_activation_key(self, user):
        return activation.make_activation_key(user)

    def get_activation_url(self, activation_key):
        """The absolute URL of the activation page for ``activation_key``."""
        path = reverse(
            "ublog_accounts:activate", kwargs={"activation_key": activation_key}
        )
        return self.request.build_absolute_uri(path)

    def get_email_context(self, activation_key, user):
        activation_url = self.get_activation_url(activation_key)
        return {
            "user": user,
            "activation_key": activation_key,
            "activation_url": activation_url,
            "expiration_days": activation.activation_days(),
            "site_name": self.request.get_host(),
            "scheme": self.request.scheme,
        }

    def send_activation_email(self, user):
        """E-mail ``user`` the link that activates the account.

        Return whether the mail was sent: a mail server that is down is
        logged, and the account can ask for the link again.
        """
        activation_key = self.get_activation_key(user)
        context = self.get_email_context(activation_key, user)
        return mail.send_templated(
            self.email_subject_template,
            self.email_body_template,
            context,
            [email_of(user)],
            request=self.request,
        )


class SignupView(ActivationEmailMixin, FormView):
    """Create an inactive account and e-mail it an activation link.

    The visitor always lands on the same "check your e-mail" page, so the
    page does not tell whether the address has an account. Depending on the
    accounts with that address (``register()``):

    * an active one: nothing is created, the address gets a notice
      (``handle_active_account()``);
    * one made inactive by an administrator (no pending activation):
      nothing is created or sent (``handle_deactivated_account()``);
    * accounts waiting for activation: they are deleted and replaced by the
      new one (``replace_pending_account()``): the last sign-up wins, and
      only the owner of the address can activate it;
    * none: the account is created (``create_inactive_user()``), waits for
      activation, and gets the activation e-mail.
    """

    form_class = SignupForm
    template_name = "ublog_accounts/signup.html"
    closed_template_name = "ublog_accounts/signup_closed.html"
    notice_subject_template = "ublog_accounts/account_exists_email_subject.txt"
    notice_body_template = "ublog_accounts/account_exists_email_body.txt"
    success_url = reverse_lazy("ublog_accounts:signup_done")

    def dispatch(self, request, *args, **kwargs):
        if not self.signup_allowed():
            return self.response_class(
                request=request,
                template=[self.closed_template_name],
                context=self.get_context_data(form=None),
                using=self.template_engine,
            )
        return super().dispatch(request, *args, **kwargs)

    def signup_allowed(self):
        return signup_open()

    def form_valid(self, form):
        # One transaction, mail included: a site that queues its mail in the
        # database sends nothing for a sign-up that did not happen.
        with transaction.atomic():
            user = self.register(form)
        if user is not None:
            signals.user_registered.send(
                sender=self.__class__, user=user, request=self.request
            )
        return super().form_valid(form)

    def register(self, form):
        """Act on a valid sign-up; return the new user, or ``None``."""
        existing = self.get_existing_users(form)
        active = [user for user in existing if user.is_active]
        if active:
            self.handle_active_account(form, active[0])
            return None
        pending = [user for user in existing if activation.is_pending(user)]
        deactivated = [user for user in existing if user not in pending]
        if deactivated:
            self.handle_deactivated_account(form, deactivated[0])
            return None
        for user in pending:
            self.replace_pending_account(form, user)
        user = self.create_inactive_user(form)
        activation.start(user)
        self.send_activation_email(user)
        return user

    def get_existing_users(self, form):
        """The users with the form's e-mail address (ignoring case), locked."""
        user_model = get_user_model()
        email = form.cleaned_data[user_model.get_email_field_name()]
        return list(
            user_model._default_manager.select_for_update()
            .filter(**{f"{user_model.get_email_field_name()}__iexact": email})
            .order_by("pk")
        )

    def handle_active_account(self, form, user):
        """The address has the active account ``user``: tell its owner."""
        self.send_account_exists_email(user)

    def handle_deactivated_account(self, form, user):
        """The address has the account ``user``, deactivated by an
        administrator: create nothing, send nothing."""
        logger.info(
            "Sign-up ignored: its e-mail address is that of the deactivated user %s.",
            user.pk,
        )

    def replace_pending_account(self, form, user):
        """Delete ``user``, waiting for activation with the same address."""
        user.delete()

    def create_inactive_user(self, form):
        """Save the form's user with ``is_active=False``; return it."""
        user = form.save(commit=False)
        user.is_active = False
        user.save()
        if hasattr(form, "save_m2m"):
            form.save_m2m()
        return user

    def get_account_exists_context(self, user):
        build = self.request.build_absolute_uri
        return {
            "user": user,
            "login_url": build(reverse("ublog_accounts:login")),
            "password_reset_url": build(reverse("ublog_accounts:password_reset")),
            "site_name": self.request.get_host(),
            "scheme": self.request.scheme,
        }

    def send_account_exists_email(self, user):
        """Tell ``user`` that someone signed up with its address; return
        whether the mail was sent."""
        return mail.send_templated(
            self.notice_subject_template,
            self.notice_body_template,
            self.get_account_exists_context(user),
            [email_of(user)],
            request=self.request,
        )


class SignupDoneView(TemplateView):
    template_name = "ublog_accounts/signup_done.html"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("expiration_days", activation.activation_days())
        return super().get_context_data(**kwargs)


class ActivationView(TemplateView):
    """Confirm (GET) and perform (POST) an account activation.

    GET only checks the key and shows a form with one button: e-mail
    scanners and link previews follow GET links, and must not activate.
    """

    template_name = "ublog_accounts/activate.html"
    failure_template_name = "ublog_accounts/activation_failed.html"
    success_url = reverse_lazy("ublog_accounts:activation_complete")
    #: HTTP status of the failure page per error code (400 otherwise).
    failure_status = {ActivationError.ALREADY_ACTIVATED: 200}

    def get(self, request, *args, **kwargs):
        try:
            user = self.validate(kwargs["activation_key"])
        except ActivationError as error:
            return self.activation_failed(error)
        return self.render_to_response(
            self.get_context_data(**kwargs, activation_user=user)
        )

    def post(self, request, *args, **kwargs):
        try:
            user = self.activate(kwargs["activation_key"])
        except ActivationError as error:
            return self.activation_failed(error)
        signals.user_activated.send(sender=self.__class__, user=user, request=request)
        return HttpResponseRedirect(self.get_success_url(user))

    def validate(self, activation_key):
        """Return the user waiting for the key, or raise ActivationError."""
        return activation.get_user(*activation.validate_key(activation_key))

    def activate(self, activation_key):
        """Activate and return the user, or raise ActivationError."""
        return activation.activate(activation_key)

    def get_success_url(self, user):
        return str(self.success_url)

    def activation_failed(self, error):
        """The failure page, with the error's message, for ``error``."""
        return self.response_class(
            request=self.request,
            template=[self.failure_template_name],
            context=self.get_context_data(**self.kwargs, activation_error=error),
            using=self.template_engine,
            status=self.failure_status.get(error.code, 400),
        )


class ActivationCompleteView(TemplateView):
    template_name = "ublog_accounts/activation_complete.html"


class ResendActivationView(ActivationEmailMixin, FormView):
    """E-mail a new activation link to the accounts waiting with an address.

    The visitor always lands on the same page, whether or not an account
    waits for activation with that address.
    """

    form_class = ResendActivationForm
    template_name = "ublog_accounts/resend_activation.html"
    success_url = reverse_lazy("ublog_accounts:resend_activation_done")

    def form_valid(self, form):
        with transaction.atomic():
            for user in self.get_pending_users(form.cleaned_data["email"]):
                self.resend(user)
        return super().form_valid(form)

    def get_pending_users(self, email):
        """The users waiting for activation with ``email`` (ignoring case),
        locked."""
        email_field = get_user_model().get_email_field_name()
        return list(
            activation.pending_users()
            .select_for_update()
            .filter(**{f"{email_field}__iexact": email})
            .order_by("pk")
        )

    def resend(self, user):
        """Record the new mail (``activation.refresh()``) and send it."""
        activation.refresh(user)
        self.send_activation_email(user)


class ResendActivationDoneView(TemplateView):
    template_name = "ublog_accounts/resend_activation_done.html"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("expiration_days", activation.activation_days())
        return super().get_context_data(**kwargs)


class LoginView(auth_views.LoginView):
    template_name = "ublog_accounts/login.html"


class LogoutView(auth_views.LogoutView):
    """Log out on POST only, then go to ``LOGOUT_REDIRECT_URL`` (or ``/``)."""

    # Django 5.0+ already refuses GET; 4.2 still logs out on GET (deprecated).
    http_method_names = ["post", "options"]

    def get_default_redirect_url(self):
        return resolve_url(self.next_page or settings.LOGOUT_REDIRECT_URL or "/")


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a password reset link by e-mail (Django's view).

    The answer is the same whether or not the address has an account; only
    active accounts with a usable password get a mail.
    """

    form_class = PasswordResetForm
    template_name = "ublog_accounts/password_reset_form.html"
    subject_template_name = "ublog_accounts/password_reset_email_subject.txt"
    email_template_name = "ublog_accounts/password_reset_email_body.txt"
    success_url = reverse_lazy("ublog_accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "ublog_accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "ublog_accounts/password_reset_confirm.html"
    success_url = reverse_lazy("ublog_accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "ublog_accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's password (logged-in users only; Django's view)."""

    template_name = "ublog_accounts/password_change_form.html"
    success_url = reverse_lazy("ublog_accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "ublog_accounts/password_change_done.html"
