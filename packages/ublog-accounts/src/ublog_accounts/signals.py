"""Signals sent when an account is registered or activated."""

from django.dispatch import Signal

#: Sent after a sign-up created an inactive account (not when it only mailed
#: the owner of an address in use). Arguments: ``user``, ``request``.
user_registered = Signal()

#: Sent after an account was activated. Arguments: ``user``, ``request``.
user_activated = Signal()
