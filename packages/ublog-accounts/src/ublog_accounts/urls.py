"""URL patterns of ublog_accounts; include them under e.g. ``accounts/``."""

from django.urls import path

from . import views

app_name = "ublog_accounts"

urlpatterns = [
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("signup/done/", views.SignupDoneView.as_view(), name="signup_done"),
    # Before "activate": "complete" would otherwise be taken for a key.
    path(
        "activate/complete/",
        views.ActivationCompleteView.as_view(),
        name="activation_complete",
    ),
    path(
        "activate/<str:activation_key>/",
        views.ActivationView.as_view(),
        name="activate",
    ),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]
