"""A post's HTML (``_post.html``), rendered once per process and kept.

Rendering ``_post.html`` for the 20 posts of every signed-in list was most
of that page's cost (``make bench``'s flame graph), yet a post looks the
same to every visitor who shares a few facts: signed in or not, whether
they like it, whether it is theirs, the page they are on (the like link's
``next``), the language and the time zone. ``{% render_post %}`` keeps each
rendering in a bounded least-recently-used store of this process
(``UBLOG_POSTS_POST_CACHE_SIZE`` entries; 0 renders every time), keyed by
those facts and by every value of the post the template shows. An edit, a
new image or thumbnail, a moderation decision, a renamed author, a like:
each makes a new key, so nothing kept is ever stale, an old entry only ages
out, and, nothing crossing processes, there is nothing to invalidate.

The like form's CSRF token is the request's: the post is rendered with
:data:`CSRF_PLACEHOLDER` as the token, which is replaced in what is kept
(and the token evaluated, with its cookie, only when the HTML has a form).

A project that overrides ``_post.html`` must show nothing else of the post
or the visitor than what :func:`post_key` names.
"""

import secrets
import threading
from collections import OrderedDict

from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from . import conf

POST_TEMPLATE = "ublog_posts/_post.html"
#: Rendered in place of the request's CSRF token, then replaced by it:
#: random, made when the process starts (as the store is), so no post's
#: text can hold it.
CSRF_PLACEHOLDER = f"ublog-posts-csrf-{secrets.token_hex(16)}"


class LeastRecentlyUsed:
    """A bounded mapping that forgets the entry used longest ago."""

    def __init__(self):
        self.entries = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key, value, size):
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > size:
                self.entries.popitem(last=False)

    def clear(self):
        with self.lock:
            self.entries.clear()


STORE = LeastRecentlyUsed()


def post_key(context, post, heading, full):
    """Everything ``_post.html`` shows of ``post`` to this visitor, and what
    else changes its output."""
    user = context.get("user")
    signed_in = bool(user and user.is_authenticated)
    return (
        translation.get_language(),
        timezone.get_current_timezone_name(),
        heading,
        bool(full),
        context.get("current_path"),
        "csrf_token" in context,  # never evaluated here: that sets the cookie
        signed_in,
        signed_in and post.owner_id is not None and post.owner_id == user.pk,
        bool(getattr(post, "liked", False)),
        getattr(post, "like_count", None),
        post.pk,
        post.created,
        post.status,
        post.owner.get_username() if post.owner_id else None,
        post.text,
        post.image.name,
        post.image_width,
        post.image_height,
        post.image_alt,
        post.thumbnail.name,
        post.thumbnail_width,
        post.thumbnail_height,
    )


def render_post(context, heading=None, full=False):
    """``_post.html`` for ``context["post"]``: kept, or rendered and kept."""
    post = context["post"]
    has_token = "csrf_token" in context
    size = conf.post_cache_size()
    key = post_key(context, post, heading, full)
    html = STORE.get(key) if size else None
    if html is None:
        values = {"heading": heading, "full": full}
        if has_token:
            values["csrf_token"] = CSRF_PLACEHOLDER
        template = context.template.engine.get_template(POST_TEMPLATE)
        with context.push(**values):
            html = template.render(context)
        if size:
            STORE.put(key, html, size)
    if has_token and CSRF_PLACEHOLDER in html:
        # Evaluated only now, as {% csrf_token %} would: a page with a form
        # gets the request's token (and the cookie with it).
        html = html.replace(CSRF_PLACEHOLDER, str(context["csrf_token"]))
    return mark_safe(html)
