"""Django settings of the μblog site, built from the ublog configuration.

Nothing here is meant to be edited: every value an admin may change comes
from ``ublog_site.config`` (``/etc/ublog/ublog.conf``, ``UBLOG_CONFIG``,
``UBLOG_*`` environment variables, or the embedded development default).
"""

import django

from ublog_site.config import load_config

CONFIG = load_config()

# -- core --------------------------------------------------------------------

SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG["ublog", "debug"]
ALLOWED_HOSTS = CONFIG["ublog", "allowed_hosts"]
# ADMINS became a list of addresses in Django 6.0 ((name, address) pairs
# before).
_admins = CONFIG["ublog", "admins"]
ADMINS = _admins if django.VERSION >= (6, 0) else [(a, a) for a in _admins]

INSTALLED_APPS = [
    # First, so its templates override the apps' base.html.
    "ublog_site",
    "ublog_posts",
    "ublog_accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # The outbox: mail queued in the database (see "e-mail" below).
    "mailer",
    # Rate-limit counting (see "rate limits" below); its system checks.
    "django_ratelimit",
]

MIDDLEWARE = [
    # /healthz, before anything checks the host or touches a session.
    "ublog_site.health.HealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside the session, CSRF and messages middleware: it sees the cookies
    # they set, and marks only pages without any for nginx's micro-cache.
    "ublog_site.microcache.MicroCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ublog_site.ratelimit.RateLimitMiddleware",
]

# One cache every gunicorn worker shares (rate-limit counters): a table in
# the site's database, created by `ublog-ctl setup` (createcachetable).
CACHE_BACKENDS = {
    "database": "django.core.cache.backends.db.DatabaseCache",
    "memcached": "django.core.cache.backends.memcached.PyMemcacheCache",
    "redis": "django.core.cache.backends.redis.RedisCache",
}
CACHE_BACKEND = CONFIG["cache", "backend"]
CACHES = {
    # Shared by every worker (and every app host, with memcached or Redis):
    # rate-limit counters, the list-page generation, sessions (below).
    "default": {
        "BACKEND": CACHE_BACKENDS[CACHE_BACKEND],
        "LOCATION": (
            "ublog_cache"
            if CACHE_BACKEND == "database"
            else [item.strip() for item in CONFIG["cache", "location"].split(",")]
        ),
        "KEY_PREFIX": "ublog",
    },
    # Each worker's own memory: rendered list pages (see ublog_posts.list_cache).
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "ublog-pages",
        "OPTIONS": {"MAX_ENTRIES": 500},
    },
}
if CACHE_BACKEND == "memcached":
    # Fail fast and retry rather than hang a worker on a dead server.
    CACHES["default"]["OPTIONS"] = {
        "connect_timeout": 2,
        "timeout": 2,
        "no_delay": True,
        "ignore_exc": False,
    }
# The rate-limit counters (ublog_site.limits) need an atomic add and incr.
# memcached's add and incr, and Redis's SET NX and INCRBY (Django's
# RedisCache), are atomic: the counters live beside the default cache there.
# Django's DatabaseCache is not (incr reads, then writes): with the database
# backend they live in ublog_site.counters, one SQL statement each.
if CACHE_BACKEND == "database":
    CACHES["counters"] = {
        "BACKEND": "ublog_site.counters.DatabaseCounterCache",
        "KEY_PREFIX": "ublog",
    }
else:
    CACHES["counters"] = {**CACHES["default"]}
# Sessions stay in the database (durable); with a cache server in front of
# it, reads come from the cache, shared by every app host.
if CACHE_BACKEND != "database":
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
UBLOG_POSTS_LIST_CACHE_SECONDS = CONFIG["cache", "list_seconds"]
# The pages nginx keeps up to the end of the current second for anonymous
# visitors (microcache.py); none when [cache] nginx_pages is off.
UBLOG_MICROCACHE_VIEWS = (
    ("ublog_posts:list", "ublog_posts:detail") if CONFIG["cache", "nginx_pages"] else ()
)
UBLOG_POSTS_LIST_CACHE = "pages"
UBLOG_POSTS_LIST_GENERATION_CACHE = "default"

ROOT_URLCONF = "ublog_site.urls"
WSGI_APPLICATION = "ublog_site.wsgi.application"

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

# -- database ----------------------------------------------------------------

if CONFIG["database", "engine"] == "sqlite":
    # Two processes write here (the web server and the mail sender): a
    # transaction takes the write lock when it begins, others wait for it
    # (up to 20 s) instead of failing with "database is locked", and in WAL
    # mode readers never wait for a writer.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(CONFIG["database", "name"]),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    }
else:
    DATABASES = {
        "default": {
            # Django's, waiting for a restarting server (ublog_site.db).
            "ENGINE": "ublog_site.db.postgresql",
            "NAME": CONFIG["database", "name"],
            "USER": CONFIG["database", "user"],
            "PASSWORD": CONFIG.database_password,
            # Empty host: the local unix socket (peer authentication).
            "HOST": CONFIG["database", "host"],
            "PORT": str(CONFIG["database", "port"] or ""),
            "CONN_MAX_AGE": CONFIG["database", "conn_max_age"],
            "CONN_HEALTH_CHECKS": CONFIG["database", "conn_max_age"] > 0,
            "OPTIONS": {
                "connect_wait": CONFIG["database", "connect_wait"],
                **(
                    {"sslmode": CONFIG["database", "sslmode"]}
                    if CONFIG["database", "sslmode"]
                    else {}
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# -- authentication ----------------------------------------------------------

LOGIN_URL = "ublog_accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# -- internationalisation ----------------------------------------------------

LANGUAGE_CODE = CONFIG["ublog", "language_code"]
TIME_ZONE = CONFIG["ublog", "time_zone"]
USE_I18N = True
USE_TZ = True

# -- static files and uploads ------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = str(CONFIG["ublog", "static_root"])
MEDIA_URL = "/media/"
MEDIA_ROOT = str(CONFIG["ublog", "media_root"])

UBLOG_POSTS_MAX_IMAGE_SIZE = CONFIG["uploads", "max_image_size"]
# Uploads up to the image limit stay in memory, bigger ones (rejected by the
# form anyway) spool to disk. DATA_UPLOAD_MAX_MEMORY_SIZE keeps Django's
# default: it limits the request body *without* file data, i.e. the post text.
FILE_UPLOAD_MAX_MEMORY_SIZE = UBLOG_POSTS_MAX_IMAGE_SIZE
# Uploaded images must be readable by the web server serving /media/.
FILE_UPLOAD_PERMISSIONS = 0o644
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o755
# Uploads appear whole or not at all: a full disk leaves no partial file.
STORAGES = {
    "default": {"BACKEND": "ublog_posts.storage.AtomicFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# -- posts -------------------------------------------------------------------

UBLOG_POSTS_ANONYMOUS_POSTS = CONFIG["posts", "anonymous_posts"]
# The address recorded with an anonymous post: the one the rate limits see.
UBLOG_POSTS_CLIENT_ADDRESS = "ublog_site.client.client_address"

# -- accounts ----------------------------------------------------------------

UBLOG_ACCOUNTS_ACTIVATION_DAYS = CONFIG["accounts", "activation_days"]
UBLOG_ACCOUNTS_SIGNUP_OPEN = CONFIG["accounts", "signup_open"]

# -- rate limits -------------------------------------------------------------
# Every write path (ublog_site.limits has the rule table): each limit is
# (requests, seconds) or None, upload_bytes is bytes a day or None.

UBLOG_LIMITS = {
    name: CONFIG["limits", name]
    for name in (
        "login",
        "login_per_user",
        "signup",
        "mail_per_recipient",
        "anonymous_post",
        "user_post",
        "image_post",
        "upload_bytes",
        "like",
        "edit",
        "delete",
    )
}
# django-ratelimit counts (ublog_site.limits calls its get_usage).
RATELIMIT_USE_CACHE = "counters"
RATELIMIT_IP_META_KEY = "ublog_site.client.client_address"
RATELIMIT_IPV4_MASK = CONFIG["limits", "ipv4_prefix"]
RATELIMIT_IPV6_MASK = CONFIG["limits", "ipv6_prefix"]
# django_ratelimit.W001 says "cache backend ... is not officially supported"
# for any backend but memcached and django-redis, so for Django's own
# RedisCache (atomic: SET NX and INCRBY) and for ublog_site.counters (atomic:
# one INSERT ... ON CONFLICT or UPDATE ... RETURNING statement per operation,
# see its doc; tested with 32 racing threads on SQLite and PostgreSQL).
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

# -- e-mail ------------------------------------------------------------------
# Every mail goes into the outbox, a table in the site's database (django-
# mailer's queue), in the transaction of the request that writes it; the
# sender (`ublog-ctl delivermail --loop`, ublog-mailer.service) delivers it
# with MAILER_EMAIL_BACKEND and retries with backoff (ublog_site.mail).
# Django 6.1 deprecates these EMAIL_* settings for MAILERS, but django-mailer
# 2.3 fetches its delivery backend with get_connection(backend=...), which
# MAILERS forbids: the deprecated settings stay until django-mailer moves.

_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
}
EMAIL_BACKEND = "ublog_site.mail.queue.QueueBackend"
MAILER_EMAIL_BACKEND = _EMAIL_BACKENDS[CONFIG["email", "backend"]]
EMAIL_HOST = CONFIG["email", "host"]
EMAIL_PORT = CONFIG["email", "port"]
EMAIL_HOST_USER = CONFIG["email", "user"]
EMAIL_HOST_PASSWORD = CONFIG.email_password
EMAIL_USE_TLS = CONFIG["email", "use_tls"]
EMAIL_USE_SSL = CONFIG["email", "use_ssl"]
EMAIL_TIMEOUT = CONFIG["email", "timeout"]
EMAIL_FILE_PATH = str(CONFIG["email", "file_path"])
DEFAULT_FROM_EMAIL = CONFIG["email", "from"]
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Row locks (SELECT ... FOR UPDATE NOWAIT) let several senders share the
# queue, on one host or many; no lock file.
MAILER_USE_FILE_LOCK = False
MAILER_ERROR_HANDLER = "ublog_site.mail.retry.handle_delivery_error"
# A round stops after three failures (the rest waits for the next round):
# a server that does not answer costs three timeouts a round, not one each.
MAILER_EMAIL_MAX_DEFERRED = 3
# The delivery log keeps dates, results and SMTP replies, not the mails:
# they hold activation and password reset links.
MAILER_EMAIL_LOG_MESSAGE_DATA = False
UBLOG_MAIL_RETRY_DELAY = CONFIG["email", "retry_delay"]
UBLOG_MAIL_MAX_RETRY_DELAY = CONFIG["email", "max_retry_delay"]
UBLOG_MAIL_MAX_ATTEMPTS = CONFIG["email", "max_attempts"]

# -- security ----------------------------------------------------------------
# Safe defaults whatever the transport (all are Django's defaults too, set
# here so that they are visible and cannot drift).

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

HTTPS = CONFIG["ublog", "https"]
if HTTPS:
    # Behind a TLS-terminating reverse proxy (the packaged nginx), which sets
    # X-Forwarded-Proto itself, so clients cannot forge it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = CONFIG["ublog", "hsts_preload"]
    CSRF_TRUSTED_ORIGINS = [
        f"https://*{host}" if host.startswith(".") else f"https://{host}"
        for host in ALLOWED_HOSTS
        if host != "*"
    ]
    if not SECURE_HSTS_PRELOAD:
        # security.W021 asks for the "preload" HSTS directive. Submitting a
        # domain to the browsers' preload list binds the whole registrable
        # domain and is slow to undo, so that is the admin's explicit choice
        # ([ublog] hsts_preload = true), not a default of a packaged app.
        SILENCED_SYSTEM_CHECKS += ["security.W021"]
else:
    # Plain HTTP (no TLS in front): secure cookies, HSTS and the redirect
    # would break the site; check --deploy reports W004, W008, W012 and W016
    # for exactly these, see README.rst.
    SECURE_SSL_REDIRECT = False
    SESSION_COOKIE_SECURE = False
    CSRF_COOKIE_SECURE = False
    SECURE_HSTS_SECONDS = 0

# -- logging -----------------------------------------------------------------
# Everything goes to stderr: journald (via systemd) or the terminal adds the
# timestamps. Errors are also mailed to ADMINS (if any) when DEBUG is off.

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "plain",
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false"],
        },
    },
    "filters": {
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "django": {
            "handlers": ["stderr", "mail_admins"],
            "level": "INFO",
            "propagate": False,
        },
        # Requests for other host names (scanners, on any public address) get
        # a 400, which the access logs record; no traceback, no mail each.
        "django.security.DisallowedHost": {
            "handlers": ["stderr"],
            "level": "CRITICAL",
            "propagate": False,
        },
    },
}
