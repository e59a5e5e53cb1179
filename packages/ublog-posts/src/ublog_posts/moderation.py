"""Moderation of anonymous posts: who moderates, and what is recorded about an
anonymous poster (the client address and a token kept in the session).

The token is random and lives in the poster's session (``POSTER_SESSION_KEY``).
It is what a post remembers of the session, rather than the session key: it
opens nothing (the session key is a credential, which the admin would show),
it survives the session key being cycled when the visitor logs in, and it
works with every session engine, signed cookies too.
"""

import ipaddress
import logging
import secrets

from . import conf

logger = logging.getLogger(__name__)

POSTER_SESSION_KEY = "ublog_posts_poster"

#: The permission that makes a user a moderator.
MODERATOR_PERMISSION = "ublog_posts.change_post"


def can_moderate(user):
    """Whether *user* moderates posts: sees those waiting for moderation and
    may publish them (the ``ublog_posts.change_post`` permission; superusers
    have it, ``is_staff`` alone is not enough)."""
    return user is not None and user.has_perm(MODERATOR_PERMISSION)


def remote_addr(request):
    """The default ``UBLOG_POSTS_CLIENT_ADDRESS``: the address the connection
    came from. Behind a proxy, that is the proxy's."""
    return request.META.get("REMOTE_ADDR", "")


def client_address(request):
    """The client's IP address, normalized, or None.

    ``UBLOG_POSTS_CLIENT_ADDRESS`` finds it; an IPv6 zone is dropped and an
    IPv4-mapped IPv6 address becomes the IPv4 address. An empty answer gives
    None; anything that is not an IP address gives None and a warning.
    """
    value = conf.client_address()(request)
    if not value:
        return None
    try:
        address = ipaddress.ip_address(str(value).strip().split("%", 1)[0])
    except ValueError:
        logger.warning("Not an IP address, not recorded: %r", value)
        return None
    return str(getattr(address, "ipv4_mapped", None) or address)


def poster_token(request, create=False):
    """The token of this visitor's session as an anonymous poster, or "".

    With *create*, a session without one gets one (and so the visitor gets a
    session). Without a session (no ``SessionMiddleware``) it is always "".
    """
    session = getattr(request, "session", None)
    if session is None:
        return ""
    token = session.get(POSTER_SESSION_KEY, "")
    if not token and create:
        token = session[POSTER_SESSION_KEY] = secrets.token_hex(16)
    return token
