"""A network between testbeds, reaching nothing else.

A :class:`Lan` is a network namespace ``NAME`` holding a bridge; each
attached testbed gets a veth pair (``lan0`` inside it, ``TESTBED-l`` on the
bridge)::

    with Lan(new_name()) as lan, Testbed(...) as a, Testbed(...) as b:
        lan.attach(a, "10.214.0.1")
        lan.attach(b, "10.214.0.2")
"""

from __future__ import annotations

from support import teardown
from support.host import sh
from support.testbed import Testbed, check_name


class Lan:
    """A bridge in a namespace of its own, joining testbeds."""

    __test__ = False

    def __init__(self, name: str, prefix_length: int = 24):
        self.name = check_name(name)
        self.prefix_length = prefix_length
        self._made = False

    def __enter__(self) -> Lan:
        teardown.track(self, "lan")
        sh("ip", "netns", "add", self.name)
        self._made = True
        try:
            sh("ip", "-n", self.name, "link", "add", "br0", "type", "bridge")
            sh("ip", "-n", self.name, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def attach(self, testbed: Testbed, address: str) -> None:
        """Give ``testbed`` the interface ``lan0`` with ``address`` on this LAN."""
        outside = f"{testbed.name}-l"
        sh("ip", "link", "add", outside, "type", "veth",
           "peer", "name", "lan0", "netns", testbed.name)  # fmt: skip
        sh("ip", "link", "set", outside, "netns", self.name)
        sh("ip", "-n", self.name, "link", "set", outside, "master", "br0")
        sh("ip", "-n", self.name, "link", "set", outside, "up")
        sh("ip", "-n", testbed.name, "addr", "add",
           f"{address}/{self.prefix_length}", "dev", "lan0")  # fmt: skip
        sh("ip", "-n", testbed.name, "link", "set", "lan0", "up")

    def close(self) -> None:
        """Delete the namespace (its bridge and veth ends go with it)."""
        if self._made:
            sh("ip", "netns", "delete", self.name)
            self._made = False
        teardown.forget(self)
