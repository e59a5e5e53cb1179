"""Admin pages for posts and likes."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .models import Like, Post, like_count_subquery


def owner_lookup(prefix):
    return f"{prefix}__{get_user_model().USERNAME_FIELD}"


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["__str__", "owner", "created", "like_count", "has_image"]
    list_filter = ["created"]
    list_select_related = ["owner"]
    date_hierarchy = "created"
    raw_id_fields = ["owner"]
    readonly_fields = ["created", "modified"]

    def get_search_fields(self, request):
        return ["text", owner_lookup("owner")]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(like_count=like_count_subquery())

    @admin.display(description=_("likes"), ordering="like_count")
    def like_count(self, post):
        return post.like_count

    @admin.display(description=_("image"), boolean=True)
    def has_image(self, post):
        return bool(post.image)


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "post", "created"]
    list_select_related = ["user", "post"]
    raw_id_fields = ["user", "post"]
    readonly_fields = ["created"]

    def get_search_fields(self, request):
        return ["post__text", owner_lookup("user")]
