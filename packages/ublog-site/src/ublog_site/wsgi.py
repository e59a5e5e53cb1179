"""The WSGI application of the μblog site (``gunicorn ublog_site.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ublog_site.settings")

application = get_wsgi_application()
