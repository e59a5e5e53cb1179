"""Views: list, detail, create, edit, delete and like toggle of posts."""

import errno
import logging

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse_lazy
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

from . import conf, list_cache
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
        return super().get_queryset().search(self.get_search_query())

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


class PostDetailView(PostQuerySetMixin, DetailView):
    template_name = "ublog_posts/post_detail.html"


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
            if exc.errno not in STORAGE_FULL_ERRNOS:
                raise
            logger.error("Upload not stored: %s", exc)
            form.add_error(
                None, ValidationError(self.storage_full_message, code="storage_full")
            )
            response = self.form_invalid(form)
            response.status_code = 507
            return response
        return HttpResponseRedirect(self.get_success_url())


class PostCreateView(SavePostMixin, CreateView):
    model = Post
    form_class = PostForm
    template_name = "ublog_posts/post_form.html"
    http_method_names = ["get", "post", "head", "options"]

    def form_valid(self, form):
        if self.request.user.is_authenticated:
            form.instance.owner = self.request.user
        return super().form_valid(form)


class OwnerRequiredMixin:
    """Only GET and POST; anonymous users go to the login page, others get a 403
    unless they own the post (posts without owner cannot be changed)."""

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
    and everyone else back to ``next``."""

    http_method_names = ["get", "post"]

    def next_url(self, request, post, data):
        return safe_next_url(request, data.get("next")) or post.get_absolute_url()

    def get(self, request, pk):
        post = get_object_or_404(Post, pk=pk)
        next_url = self.next_url(request, post, request.GET)
        if not request.user.is_authenticated:
            return redirect_to_login(next_url)
        return HttpResponseRedirect(next_url)

    def post(self, request, pk):
        post = get_object_or_404(Post, pk=pk)
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
