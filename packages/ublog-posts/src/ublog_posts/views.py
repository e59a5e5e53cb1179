"""Views: list, detail, create, edit, delete and like toggle of posts, and
each user's profile (their posts, the posts they liked).

Lists, searches and likes see published posts only. A post waiting for
moderation is shown on its detail page to its poster and to moderators only
(``Post.is_visible_to``); everyone else gets a 404, as for a missing post.
"""

import errno
import logging

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse_lazy
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import (
    CreateView,
    DeleteView,
    DetailView,
    ListView,
    UpdateView,
)

from . import conf, list_cache, moderation
from .forms import PostForm
from .models import Like, Post

logger = logging.getLogger(__name__)

# Errors of the storage that mean "no room", not "bug": the user is told.
STORAGE_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def wants_json(request):
    """Whether the client asked for JSON (``fetch()`` from like.js does)."""
    return "application/json" in request.headers.get("Accept", "")


def safe_next_url(request, url):
    """*url* if it points to this site, else None."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


class PostQuerySetMixin:
    """Posts with ``like_count`` and ``liked`` for the current user, in one
    query whatever the number of posts."""

    model = Post

    def get_queryset(self):
        return Post.objects.with_likes(self.request.user)

    def get_context_data(self, **kwargs):
        kwargs.setdefault("current_path", self.request.get_full_path())
        return super().get_context_data(**kwargs)


class PostListView(PostQuerySetMixin, ListView):
    template_name = "ublog_posts/post_list.html"
    context_object_name = "posts"

    def get_search_query(self):
        return self.request.GET.get("q", "").strip()

    def get_paginate_by(self, queryset):
        return conf.per_page()

    def get_queryset(self):
        return super().get_queryset().published().search(self.get_search_query())

    def get_context_data(self, **kwargs):
        kwargs.setdefault("q", self.get_search_query())
        return super().get_context_data(**kwargs)

    def get(self, request, *args, **kwargs):
        key = list_cache.cache_key(request)
        cached = key and list_cache.cached_response(key)
        if cached:
            return cached
        response = super().get(request, *args, **kwargs)
        if key:
            response.add_post_render_callback(
                lambda rendered: list_cache.store(key, request, rendered)
            )
        return response


class ProfileView(PostQuerySetMixin, ListView):
    """A user's profile: their published posts, newest first (``tab`` =
    ``"posts"``), or the published posts they liked, the latest like first
    (``tab`` = ``"liked"``); paginated. A user who does not exist or is
    inactive is a 404."""

    template_name = "ublog_posts/profile.html"
    context_object_name = "posts"
    tab = "posts"

    def get_paginate_by(self, queryset):
        return conf.per_page()

    def get_profile_user(self):
        if not hasattr(self, "profile_user"):
            User = get_user_model()
            lookup = {User.USERNAME_FIELD: self.kwargs["username"]}
            user = get_object_or_404(User._default_manager, **lookup)
            if not getattr(user, "is_active", True):
                raise Http404
            self.profile_user = user
        return self.profile_user

    def get_queryset(self):
        user = self.get_profile_user()
        posts = super().get_queryset().published()
        if self.tab == "liked":
            return posts.filter(likes__user=user).order_by("-likes__created", "-pk")
        return posts.filter(owner=user)

    def get_context_data(self, **kwargs):
        user = self.get_profile_user()
        published = Post.objects.published()
        kwargs.update(
            profile_user=user,
            tab=self.tab,
            post_count=published.filter(owner=user).count(),
            liked_count=published.filter(likes__user=user).count(),
        )
        return super().get_context_data(**kwargs)


class VisiblePostMixin:
    """A post waiting for moderation is a 404 for those who may not see it."""

    def get_object(self, queryset=None):
        post = super().get_object(queryset)
        if not self.may_see(post):
            raise Http404
        return post

    def may_see(self, post):
        """Whether this visitor may see *post* (the session is read only for a
        post waiting for moderation)."""
        return post.is_published or post.is_visible_to(
            self.request.user, moderation.poster_token(self.request)
        )


class PostDetailView(VisiblePostMixin, PostQuerySetMixin, DetailView):
    """One post; one waiting for moderation only for those who may see it, in
    a page that shared caches do not keep."""

    template_name = "ublog_posts/post_detail.html"

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if not self.object.is_published:
            patch_cache_control(response, private=True)
        return response


class SavePostMixin:
    """Save the form in one transaction; when the storage is full, the form
    comes back with an error (status 507) and neither a row nor a file is
    left (the storage must not leave partial files, see ``storage``)."""

    storage_full_message = _(
        "The image could not be stored: the server is out of disk space. "
        "Nothing was saved; please try again later."
    )

    def form_valid(self, form):
        try:
            with transaction.atomic():
                self.object = form.save()
        except OSError as exc:
            form.discard_new_files()
            if exc.errno not in STORAGE_FULL_ERRNOS:
                raise
            logger.error("Upload not stored: %s", exc)
            form.add_error(
                None, ValidationError(self.storage_full_message, code="storage_full")
            )
            response = self.form_invalid(form)
            response.status_code = 507
            return response
        self.saved(self.object)
        return HttpResponseRedirect(self.get_success_url())

    def saved(self, post):
        """Called once *post* is saved, before the redirect."""


class PostCreateView(SavePostMixin, CreateView):
    """A new post. Logged-in users' posts are published at once; anonymous
    visitors' follow ``UBLOG_POSTS_ANONYMOUS_POSTS``: published at once
    (open), kept for a moderator (moderated) or refused with a redirect to the
    login page (closed). An anonymous post records the client address and the
    session's poster token (see ``moderation``)."""

    model = Post
    form_class = PostForm
    template_name = "ublog_posts/post_form.html"
    http_method_names = ["get", "post", "head", "options"]

    pending_message = _(
        "Thank you! Your post will be shown once a moderator approves it. "
        "Until then only you, in this browser, and the moderators can see it."
    )

    def dispatch(self, request, *args, **kwargs):
        if request.method.lower() in self.http_method_names and not self.may_post():
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, *args, **kwargs)

    def may_post(self):
        """Whether this visitor may post at all."""
        return (
            self.request.user.is_authenticated
            or conf.anonymous_posts() != conf.ANONYMOUS_POSTS_CLOSED
        )

    def initial_status(self):
        """The status of the new post."""
        if (
            not self.request.user.is_authenticated
            and conf.anonymous_posts() == conf.ANONYMOUS_POSTS_MODERATED
        ):
            return Post.Status.PENDING
        return Post.Status.PUBLISHED

    def form_valid(self, form):
        post = form.instance
        if self.request.user.is_authenticated:
            post.owner = self.request.user
        else:
            self.record_poster(post)
        post.status = self.initial_status()
        return super().form_valid(form)

    def record_poster(self, post):
        """What moderation needs of an anonymous post: the client address and
        the session's poster token (made now, with a session, if missing)."""
        post.poster_address = moderation.client_address(self.request)
        post.poster_session = moderation.poster_token(self.request, create=True)

    def saved(self, post):
        if not post.is_published:
            messages.info(self.request, self.pending_message, fail_silently=True)


class OwnerRequiredMixin(VisiblePostMixin):
    """Only GET and POST; anonymous users go to the login page, others get a 403
    unless they own the post (posts without owner cannot be changed), or a 404
    for a post they may not see (one waiting for moderation)."""

    http_method_names = ["get", "post", "head", "options"]

    def dispatch(self, request, *args, **kwargs):
        if request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, *args, **kwargs)

    def get_object(self, queryset=None):
        post = super().get_object(queryset)
        if not post.can_be_changed_by(self.request.user):
            raise PermissionDenied
        return post


class PostUpdateView(OwnerRequiredMixin, SavePostMixin, UpdateView):
    model = Post
    form_class = PostForm
    template_name = "ublog_posts/post_form.html"


class PostDeleteView(OwnerRequiredMixin, DeleteView):
    """GET asks for confirmation, POST deletes (the image file goes too, see
    ``signals``)."""

    model = Post
    template_name = "ublog_posts/post_confirm_delete.html"
    success_url = reverse_lazy("ublog_posts:list")


class LikeToggleView(View):
    """POST toggles the current user's like; JSON for ``fetch()``, else a
    redirect back to ``next`` (if safe) or to the post. GET changes nothing:
    it sends visitors to the login page (anonymous visitors get a link here
    instead of a form, so their pages carry no CSRF token and can be cached)
    and everyone else back to ``next``. Only published posts can be liked
    (others are a 404)."""

    http_method_names = ["get", "post"]

    def get_post(self, pk):
        return get_object_or_404(Post.objects.published(), pk=pk)

    def next_url(self, request, post, data):
        return safe_next_url(request, data.get("next")) or post.get_absolute_url()

    def get(self, request, pk):
        post = self.get_post(pk)
        next_url = self.next_url(request, post, request.GET)
        if not request.user.is_authenticated:
            return redirect_to_login(next_url)
        return HttpResponseRedirect(next_url)

    def post(self, request, pk):
        post = self.get_post(pk)
        next_url = self.next_url(request, post, request.POST)
        if not request.user.is_authenticated:
            login = redirect_to_login(next_url)
            if wants_json(request):
                return JsonResponse(
                    {"error": "login_required", "login_url": login.url}, status=403
                )
            return login
        liked = self.toggle(post, request.user)
        if wants_json(request):
            return JsonResponse({"liked": liked, "count": post.likes.count()})
        return HttpResponseRedirect(next_url)

    def toggle(self, post, user):
        """Remove the like if there is one, else add it; return the new state."""
        deleted, _ = Like.objects.filter(post=post, user=user).delete()
        if deleted:
            return False
        try:
            with transaction.atomic():
                Like.objects.create(post=post, user=user)
        except IntegrityError:  # a concurrent request liked it first
            pass
        return True
