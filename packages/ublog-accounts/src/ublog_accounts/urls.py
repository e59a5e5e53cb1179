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
    path(
        "resend/",
        views.ResendActivationView.as_view(),
        name="resend_activation",
    ),
    path(
        "resend/done/",
        views.ResendActivationDoneView.as_view(),
        name="resend_activation_done",
    ),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path(
        "password/reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password/reset/done/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/complete/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/change/",
        views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
