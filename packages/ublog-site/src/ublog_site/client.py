"""The address of the client a request comes from, as the rate limits and
the posts app (``UBLOG_POSTS_CLIENT_ADDRESS``) see it.

The packaged nginx talks to gunicorn over a unix socket, so ``REMOTE_ADDR``
is empty there (or a loopback address behind a local proxy). nginx then
*appends* its own ``$remote_addr`` to ``X-Forwarded-For``: the last entry
is the address nginx saw, already corrected by its real_ip module for the
configured load balancers only. Earlier entries come from the client and
are ignored, so a client cannot forge its address. A request that reaches
Django straight from a non-loopback address is keyed by that address, and
its ``X-Forwarded-For`` is ignored entirely.
"""

import ipaddress


def _is_local(address: str) -> bool:
    if not address:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def client_address(request) -> str:
    """The client's IP address (a string; empty only if nobody knows it)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if _is_local(remote) and forwarded:
        last = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            # Not nginx's (it always appends an address): keep the proxy's.
            return remote
    return remote
