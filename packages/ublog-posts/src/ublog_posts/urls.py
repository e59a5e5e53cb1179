"""URL patterns of ublog_posts (namespace ``ublog_posts``)."""

from django.urls import path

from . import views

app_name = "ublog_posts"

urlpatterns = [
    path("", views.PostListView.as_view(), name="list"),
    path("<int:pk>/", views.PostDetailView.as_view(), name="detail"),
    path("new/", views.PostCreateView.as_view(), name="create"),
    path("<int:pk>/edit/", views.PostUpdateView.as_view(), name="edit"),
    path("<int:pk>/delete/", views.PostDeleteView.as_view(), name="delete"),
    path("<int:pk>/like/", views.LikeToggleView.as_view(), name="like"),
    path("users/<str:username>/", views.ProfileView.as_view(), name="profile"),
    path(
        "users/<str:username>/liked/",
        views.ProfileView.as_view(tab="liked"),
        name="profile_liked",
    ),
]
