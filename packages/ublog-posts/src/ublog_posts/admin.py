"""Admin pages for posts and likes, with the moderation of anonymous posts:
publishing those that wait, and removing a spammer's posts in bulk by client
address or by session."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import model_ngettext
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .forms import AdminPostForm
from .models import Like, Post, like_count_subquery

#: The hidden field of the confirmation page: the largest primary key it
#: showed. Posts that arrive meanwhile are not deleted with those shown.
LAST_SHOWN_FIELD = "ublog_posts_last_shown"


def owner_lookup(prefix):
    return f"{prefix}__{get_user_model().USERNAME_FIELD}"


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    form = AdminPostForm
    list_display = [
        "__str__",
        "owner",
        "status",
        "address",
        "session",
        "created",
        "like_count",
        "has_image",
    ]
    list_filter = ["status", ("owner", admin.EmptyFieldListFilter), "created"]
    list_select_related = ["owner"]
    date_hierarchy = "created"
    raw_id_fields = ["owner"]
    readonly_fields = ["created", "modified", "poster_address", "poster_session"]
    actions = ["publish_selected", "delete_same_address", "delete_same_session"]
    same_poster_confirmation_template = (
        "admin/ublog_posts/post/delete_same_poster_confirmation.html"
    )
    #: Posts listed on that confirmation page (all of them are counted).
    same_poster_max_display = 100

    def get_search_fields(self, request):
        # An address prefix finds a network ("203.0.113."); a session token
        # must be given whole.
        return ["text", owner_lookup("owner"), "^poster_address", "=poster_session"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(like_count=like_count_subquery())

    @admin.display(description=_("likes"), ordering="like_count")
    def like_count(self, post):
        return post.like_count

    @admin.display(description=_("image"), boolean=True)
    def has_image(self, post):
        return bool(post.image)

    @admin.display(description=_("address"), ordering="poster_address")
    def address(self, post):
        """The address of an anonymous post, a link to all its posts."""
        if not post.poster_address:
            return None
        return format_html(
            '<a href="?{}" title="{}">{}</a>',
            urlencode({"poster_address": post.poster_address}),
            gettext("All posts from this address"),
            post.poster_address,
        )

    @admin.display(description=_("session"), ordering="poster_session")
    def session(self, post):
        """The start of an anonymous post's session token, a link to all the
        posts from that session."""
        if not post.poster_session:
            return None
        return format_html(
            '<a href="?{}" title="{}"><code>{}</code></a>',
            urlencode({"poster_session": post.poster_session}),
            gettext("All posts from this session"),
            post.poster_session[:8],
        )

    @admin.action(
        description=_("Publish the selected posts waiting for moderation"),
        permissions=["change"],
    )
    def publish_selected(self, request, queryset):
        pending = list(queryset.filter(status=Post.Status.PENDING))
        count = Post.objects.filter(pk__in=[post.pk for post in pending]).publish()
        # The change message the change form would write.
        status = str(capfirst(Post._meta.get_field("status").verbose_name))
        for post in pending:
            self.log_change(request, post, [{"changed": {"fields": [status]}}])
        self.message_user(
            request,
            ngettext("%(count)d post published.", "%(count)d posts published.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(
        description=_("Delete every post from the same address(es) as the selected"),
        permissions=["delete"],
    )
    def delete_same_address(self, request, queryset):
        return self.delete_same_poster(
            request, queryset, "poster_address", "delete_same_address"
        )

    @admin.action(
        description=_("Delete every post from the same session(s) as the selected"),
        permissions=["delete"],
    )
    def delete_same_session(self, request, queryset):
        return self.delete_same_poster(
            request, queryset, "poster_session", "delete_same_session"
        )

    def delete_same_poster(self, request, selected, field, action):
        """Delete the posts that share *field* (``poster_address`` or
        ``poster_session``) with the *selected* ones, as ``delete_selected``
        does: a confirmation page lists them, its POST deletes them (those it
        showed, not those that arrived since), with their likes and images.

        Only anonymous posts record an address and a session, so posts of
        logged-in users are never deleted this way.
        """
        keys = sorted(
            {key for key in selected.order_by().values_list(field, flat=True) if key}
        )
        if not keys:
            if field == "poster_address":
                message = gettext(
                    "None of the selected posts has a recorded address (only "
                    "anonymous posts have one). Nothing was deleted."
                )
            else:
                message = gettext(
                    "None of the selected posts has a recorded session (only "
                    "anonymous posts have one). Nothing was deleted."
                )
            self.message_user(request, message, messages.WARNING)
            return None
        posts = self.get_queryset(request).filter(**{f"{field}__in": keys})
        last_shown = self.confirmed_last_shown(request)
        if last_shown is not None:
            posts = posts.filter(pk__lte=last_shown)
        _deletable, model_count, perms_needed, protected = self.get_deleted_objects(
            posts, request
        )
        if last_shown is not None and not protected:
            if perms_needed:
                raise PermissionDenied
            count = len(posts)
            if count:
                self.log_post_deletions(request, posts)
                self.delete_queryset(request, posts)
            self.message_user(
                request,
                ngettext("%(count)d post deleted.", "%(count)d posts deleted.", count)
                % {"count": count},
                messages.SUCCESS,
            )
            return None
        pks = list(posts.order_by().values_list("pk", flat=True))
        objects_name = model_ngettext(self.opts, len(pks))
        if perms_needed or protected:
            title = gettext("Cannot delete %(name)s") % {"name": objects_name}
        else:
            title = gettext("Delete every post from the same poster")
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "objects_name": str(objects_name),
            "by_address": field == "poster_address",
            "keys": keys,
            "posts": posts[: self.same_poster_max_display],
            "post_count": len(pks),
            "more_count": max(0, len(pks) - self.same_poster_max_display),
            "last_shown": max(pks, default=0),
            "last_shown_field": LAST_SHOWN_FIELD,
            "action": action,
            "model_count": dict(model_count).items(),
            "perms_lacking": perms_needed,
            "protected": protected,
            "queryset": selected,
            "opts": self.opts,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, self.same_poster_confirmation_template, context
        )

    def confirmed_last_shown(self, request):
        """The largest primary key the confirmation page showed, once it is
        confirmed; None until then."""
        if not request.POST.get("post"):
            return None
        try:
            return int(request.POST.get(LAST_SHOWN_FIELD, ""))
        except ValueError:
            return None

    def log_post_deletions(self, request, posts):
        """Record the deletions in the admin's history, as ``delete_selected``
        does."""
        if hasattr(self, "log_deletions"):  # Django >= 5.1
            self.log_deletions(request, posts)
        else:  # pragma: no cover (Django 4.2)
            for post in posts:
                self.log_deletion(request, post, str(post))


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "post", "created"]
    list_select_related = ["user", "post"]
    raw_id_fields = ["user", "post"]
    readonly_fields = ["created"]

    def get_search_fields(self, request):
        return ["post__text", owner_lookup("user")]
