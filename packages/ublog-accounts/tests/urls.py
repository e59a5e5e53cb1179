"""URLs of the test project: the accounts app and a trivial home page."""

from django.http import HttpResponse
from django.urls import include, path


def home(request):
    who = request.user.get_username() if request.user.is_authenticated else "anon"
    return HttpResponse(f"home: {who}", content_type="text/plain")


urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("ublog_accounts.urls")),
]
