"""URLs of the μblog site: the admin, accounts and posts mounted together."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("ublog_accounts.urls")),
    path("", include("ublog_posts.urls")),
]

# Uploaded images: served by nginx in production, by Django only in DEBUG
# (static() returns no patterns otherwise).
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
