"""Views: sign-up, activation (confirm on GET, activate on POST), login, logout.

Each view is a small class whose steps are methods, so a project can
subclass one and override only the step it needs.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.views.generic import FormView, TemplateView

from . import activation, signals
from .exceptions import ActivationError
from .forms import SignupForm


def signup_open():
    """Whether new accounts may be created (``UBLOG_ACCOUNTS_SIGNUP_OPEN``)."""
    return getattr(settings, "UBLOG_ACCOUNTS_SIGNUP_OPEN", True)


class SignupView(FormView):
    """Create an inactive account and e-mail it an activation link."""

    form_class = SignupForm
    template_name = "ublog_accounts/signup.html"
    closed_template_name = "ublog_accounts/signup_closed.html"
    email_subject_template = "ublog_accounts/activation_email_subject.txt"
    email_body_template = "ublog_accounts/activation_email_body.txt"
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
        # If the e-mail cannot be sent, the account is not created either, so
        # the visitor can simply try again.
        with transaction.atomic():
            user = self.create_inactive_user(form)
            self.send_activation_email(user)
        signals.user_registered.send(
            sender=self.__class__, user=user, request=self.request
        )
        return super().form_valid(form)

    def create_inactive_user(self, form):
        """Save the form's user with ``is_active=False``; return it."""
        user = form.save(commit=False)
        user.is_active = False
        user.save()
        if hasattr(form, "save_m2m"):
            form.save_m2m()
        return user

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
        """E-mail ``user`` the link that activates the account."""
        activation_key = self.get_activation_key(user)
        context = self.get_email_context(activation_key, user)
        subject = render_to_string(
            self.email_subject_template, context, request=self.request
        )
        # The subject must be a single line (no header injection).
        subject = " ".join(subject.splitlines()).strip()
        body = render_to_string(self.email_body_template, context, request=self.request)
        send_mail(
            subject,
            body,
            settings.DEFAULT_FROM_EMAIL,
            [getattr(user, user.get_email_field_name())],
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
        """Return the inactive user for the key, or raise ActivationError."""
        return activation.get_user(activation.validate_key(activation_key))

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


class LoginView(auth_views.LoginView):
    template_name = "ublog_accounts/login.html"


class LogoutView(auth_views.LogoutView):
    """Log out on POST only, then go to ``LOGOUT_REDIRECT_URL`` (or ``/``)."""

    # Django 5.0+ already refuses GET; 4.2 still logs out on GET (deprecated).
    http_method_names = ["post", "options"]

    def get_default_redirect_url(self):
        return resolve_url(self.next_page or settings.LOGOUT_REDIRECT_URL or "/")
