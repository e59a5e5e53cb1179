"""URLs of the test project: the app at the root, the admin and a login page."""

from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path


def login(request):
    return HttpResponse("login page")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", login, name="login"),
    path("", include("ublog_posts.urls")),
]
