"""Signals sent when an account is registered or activated."""

from django.dispatch import Signal

#: Sent after an inactive account was created. Arguments: ``user``, ``request``.
user_registered = Signal()

#: Sent after an account was activated. Arguments: ``user``, ``request``.
user_activated = Signal()
