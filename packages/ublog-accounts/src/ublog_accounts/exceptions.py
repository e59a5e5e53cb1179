"""The typed error raised when an activation key cannot activate an account."""

from django.utils.translation import gettext_lazy as _


class ActivationError(Exception):
    """An account could not be activated.

    Modelled on Django's ``ValidationError``: ``message`` is a human-readable
    (translatable) text, ``code`` a short machine-readable identifier (one of
    the ``*`` constants below) and ``params`` an optional mapping interpolated
    into ``message``.
    """

    EXPIRED = "expired"
    INVALID_KEY = "invalid_key"
    BAD_USERNAME = "bad_username"
    ALREADY_ACTIVATED = "already_activated"
    REVOKED = "revoked"

    #: The default message for each code.
    MESSAGES = {
        EXPIRED: _(
            "This activation link has expired (links are valid for "
            "%(days)s days). You can ask for a new one."
        ),
        INVALID_KEY: _(
            "This activation link is invalid. Please check that you copied "
            "the whole link from the e-mail."
        ),
        BAD_USERNAME: _("The account for this activation link no longer exists."),
        ALREADY_ACTIVATED: _("This account is already active. You can log in."),
        REVOKED: _("This activation link can no longer be used."),
    }

    def __init__(self, message, code=None, params=None):
        super().__init__(message, code, params)
        self.message = message
        self.code = code
        self.params = params

    @classmethod
    def from_code(cls, code, params=None):
        """Build the error for ``code`` with its default message."""
        return cls(cls.MESSAGES[code], code=code, params=params)

    def __str__(self):
        if self.params:
            return str(self.message % self.params)
        return str(self.message)

    def __repr__(self):
        return f"ActivationError(code={self.code!r}, message={str(self)!r})"
