"""A minimal Django project to test ublog_accounts alone (not ublog-site)."""

import django

SECRET_KEY = "ublog-accounts-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "example.com"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ublog_accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Mail goes to the locmem backend (django.core.mail.outbox). Django 6.1
# replaces EMAIL_BACKEND by MAILERS; the test environment switches either to
# locmem anyway, but 6.1 warns unless MAILERS is configured.
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": LOCMEM}}
else:
    EMAIL_BACKEND = LOCMEM
DEFAULT_FROM_EMAIL = "ublog <noreply@example.com>"

# Fast hashing: the tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LOGIN_URL = "ublog_accounts:login"
LOGIN_REDIRECT_URL = "/"

USE_TZ = True
STATIC_URL = "/static/"
