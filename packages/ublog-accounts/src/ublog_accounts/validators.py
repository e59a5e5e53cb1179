"""Username validators: reserved names, invisible characters, confusables.

Modelled on django-registration's validators. ``SignupForm`` runs
``validate_username()`` (all three checks) on the username.
"""

import unicodedata

from confusable_homoglyphs import confusables
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

#: Names nobody may sign up with: they could pass for the site or its staff,
#: or clash with URLs, host names or e-mail addresses made from usernames.
#: Compared after NFKC normalisation and case folding.
DEFAULT_RESERVED_USERNAMES = frozenset(
    {
        # Administrators and the mail addresses certificate authorities use.
        "admin",
        "administrator",
        "hostmaster",
        "postmaster",
        "root",
        "ssladmin",
        "ssladministrator",
        "sslwebmaster",
        "superuser",
        "sysadmin",
        "webmaster",
        # RFC 2142 mailboxes, and addresses nobody answers.
        "abuse",
        "info",
        "marketing",
        "noc",
        "sales",
        "security",
        "support",
        "mailer-daemon",
        "nobody",
        "noreply",
        "no-reply",
        # Host names with a meaning, and common protocol host names.
        "autoconfig",
        "autodiscover",
        "broadcasthost",
        "isatap",
        "localdomain",
        "localhost",
        "wpad",
        "ftp",
        "imap",
        "mail",
        "email",
        "news",
        "pop",
        "pop3",
        "smtp",
        "usenet",
        "uucp",
        "webmail",
        "www",
        # Well-known file names.
        "favicon.ico",
        "robots.txt",
        "humans.txt",
        "security.txt",
        "crossdomain.xml",
        "clientaccesspolicy.xml",
        ".htaccess",
        ".htpasswd",
        # The site, its URLs and pages.
        "ublog",
        "account",
        "accounts",
        "activate",
        "api",
        "auth",
        "blog",
        "contact",
        "help",
        "login",
        "logout",
        "media",
        "moderator",
        "official",
        "password",
        "post",
        "posts",
        "register",
        "settings",
        "signin",
        "signup",
        "staff",
        "static",
        "status",
        "system",
        "user",
        "users",
    }
)

RESERVED_USERNAME = _("This name is reserved and cannot be registered.")
INVISIBLE_CHARACTER = _(
    "Usernames cannot contain invisible characters (such as zero-width spaces "
    "or text direction marks); this one contains %(character)s."
)
CONFUSABLE_USERNAME = _(
    "This name mixes alphabets whose letters look alike (for example Latin "
    "and Cyrillic). Please choose a different name."
)


def normalize(name):
    """``name`` NFKC-normalised and case-folded, for comparing names."""
    return unicodedata.normalize("NFKC", name).casefold()


def reserved_usernames():
    """The reserved names, normalised: the defaults and the setting's."""
    extra = getattr(settings, "UBLOG_ACCOUNTS_RESERVED_USERNAMES", ())
    return {normalize(name) for name in DEFAULT_RESERVED_USERNAMES} | {
        normalize(name) for name in extra
    }


def validate_not_reserved(value):
    """Refuse a reserved name (``reserved_usernames()``), ignoring case."""
    if not isinstance(value, str):
        return
    name = normalize(value)
    if name in reserved_usernames() or name.startswith(".well-known"):
        raise ValidationError(RESERVED_USERNAME, code="reserved_username")


def validate_no_invisible_characters(value):
    """Refuse format characters (Unicode category Cf): zero-width joiners and
    spaces, bidirectional controls, soft hyphens and the like."""
    if not isinstance(value, str):
        return
    for character in value:
        if unicodedata.category(character) == "Cf":
            raise ValidationError(
                INVISIBLE_CHARACTER,
                code="invisible_character",
                params={"character": f"U+{ord(character):04X}"},
            )


def validate_not_confusable(value):
    """Refuse a mixed-script name with characters that look like others
    (``confusable_homoglyphs.confusables.is_dangerous()``), e.g. "pаypal" with
    a Cyrillic "а"."""
    if not isinstance(value, str):
        return
    if confusables.is_dangerous(value):
        raise ValidationError(CONFUSABLE_USERNAME, code="confusable_username")


#: The validators ``SignupForm`` adds to its username field.
USERNAME_VALIDATORS = [
    validate_not_reserved,
    validate_no_invisible_characters,
    validate_not_confusable,
]


def validate_username(value):
    """Run every check of ``USERNAME_VALIDATORS``; raise all their errors."""
    errors = []
    for validator in USERNAME_VALIDATORS:
        try:
            validator(value)
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError(errors)
