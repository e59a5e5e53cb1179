"""Template tags of ublog-posts: ``{% render_post %}``, a post kept
rendered (see :mod:`ublog_posts.fragments`)."""

from django import template

from ublog_posts import fragments

register = template.Library()


@register.simple_tag(takes_context=True)
def render_post(context, heading=None, full=False):
    """``_post.html`` for the ``post`` in the context (``heading``: its
    heading's element, h2 by default; ``full``: the full-size image)."""
    return fragments.render_post(context, heading, full)
