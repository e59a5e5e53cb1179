"""A throwaway ACME CA inside a testbed: Let's Encrypt's Pebble, run by the
container's systemd, so certbot can get real certificates with no network.

Debian ships Pebble as the ``pebble`` package (bookworm: 2.4.0, trixie:
2.6.0): ``/usr/bin/pebble`` and an example configuration only; the test
certificate of its own HTTPS endpoint (``test/certs/localhost``, minica) is
left out of the Debian source, so :func:`start_pebble` makes one with
openssl: a small CA (:attr:`AcmeServer.ca_bundle`) and a ``localhost`` leaf
signed by it. An ACME client trusts that CA through ``REQUESTS_CA_BUNDLE``
(certbot's HTTP goes through requests), given by :attr:`AcmeServer.env`::

    acme = start_pebble(tb, "blog.example.test")
    tb.run(f"certbot certonly --nginx -d blog.example.test "
           f"--server {acme.directory} ...", env=acme.env)
    root = acme.root_pem()  # what issued the certificate, for curl --cacert

The challenges are validated for real: Pebble's HTTP-01 (TLS-ALPN-01)
validation connects to port 80 (443) of each name, which
:func:`map_host` resolves to the container's loopback in /etc/hosts (Go's
resolver reads it). The environment makes it fast and deterministic: no
random sleep before validating, no nonce rejected on purpose, and no
authorization reused (each order, a renewal too, passes a challenge).

Pebble keeps everything in memory: a restart forgets the accounts and makes
a new root, and its certificates are valid for years (``certbot renew``
only renews with ``--force-renewal``). The base root needs :data:`PACKAGES`
prefetched (``roots(RELEASE, *acme.PACKAGES)``).
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field

from support.errors import TestbedError

#: What a root must have prefetched for :func:`start_pebble` and certbot's
#: nginx plugin (nginx itself comes with ublog's dependencies).
PACKAGES = ("pebble", "certbot", "python3-certbot-nginx")
#: Where the configuration and the TLS files of Pebble go in the container.
PEBBLE_DIR = "/etc/pebble-test"
#: The ACME port (the directory) and the management port (roots, keys).
ACME_PORT = 14000
MANAGEMENT_PORT = 15000
#: The environment of the Pebble unit.
PEBBLE_ENV = {
    "PEBBLE_VA_NOSLEEP": "1",  # validate at once (else a random 0-15 s sleep)
    "PEBBLE_WFE_NONCEREJECT": "0",  # else 5% of good nonces are refused
    "PEBBLE_AUTHZREUSE": "0",  # else half the orders skip the challenge
}
#: A CA and a leaf for Pebble's own HTTPS (ACME and management endpoints).
_MAKE_TLS = """\
set -e
cd {dir}
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -days 30 -subj '/CN=ublog test Pebble CA' -keyout ca.key -out ca.pem
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj /CN=localhost -keyout key.pem -out leaf.csr
printf '%s\\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
  'extendedKeyUsage=serverAuth' 'basicConstraints=critical,CA:FALSE' > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
  -days 30 -extfile leaf.ext -out cert.pem
rm leaf.csr leaf.ext ca.srl
"""


@dataclass
class AcmeServer:
    """A Pebble running as a transient unit in testbed ``tb``."""

    tb: object
    unit: str
    #: The ACME directory URL, for ``certbot --server``.
    directory: str
    #: The CA file (in the container) that verifies Pebble's own HTTPS.
    ca_bundle: str
    #: Seconds from ``systemd-run`` until the directory answered.
    start_seconds: float
    hosts: tuple[str, ...] = field(default=())

    @property
    def env(self) -> dict[str, str]:
        """The environment an ACME client (certbot) needs to trust Pebble."""
        return {"REQUESTS_CA_BUNDLE": self.ca_bundle}

    def management(self, path: str) -> str:
        """GET ``path`` of the management endpoint (inside the container)."""
        url = f"https://localhost:{MANAGEMENT_PORT}/{path.lstrip('/')}"
        curl = ["curl", "-fsS", "--cacert", self.ca_bundle, url]
        return self.tb.run(curl).stdout

    def root_pem(self) -> str:
        """The root that issued the certificates (new at each start)."""
        return self.management("roots/0")

    def intermediate_pem(self) -> str:
        """The intermediate that signs the leaves (certbot's chain.pem)."""
        return self.management("intermediates/0")

    def save_root(self, path: str = f"{PEBBLE_DIR}/root.pem") -> str:
        """Write :meth:`root_pem` to ``path`` in the container; the path."""
        self.tb.run(["sh", "-c", f"cat > {shlex.quote(path)}"], input=self.root_pem())
        return path

    def trust_in_certbot_service(self) -> None:
        """Let Debian's ``certbot.service`` (the renewal timer's) reach
        Pebble too: a drop-in with ``REQUESTS_CA_BUNDLE``."""
        drop_in = "/etc/systemd/system/certbot.service.d"
        self.tb.run(["mkdir", "-p", drop_in])
        self.tb.run(
            ["sh", "-c", f"cat > {drop_in}/pebble.conf"],
            input=f"[Service]\nEnvironment=REQUESTS_CA_BUNDLE={self.ca_bundle}\n",
        )
        self.tb.run("systemctl daemon-reload")

    def log(self) -> str:
        return self.tb.run(
            ["journalctl", "-u", self.unit, "--no-pager", "-o", "cat"], check=False
        ).stdout

    def stop(self) -> None:
        self.tb.run(["systemctl", "stop", self.unit], check=False)


def map_host(tb, *names: str, address: str = "127.0.0.1") -> None:
    """Resolve ``names`` to ``address`` in the container (/etc/hosts)."""
    hosts = tb.run(["cat", "/etc/hosts"]).stdout
    missing = [name for name in names if name not in hosts.split()]
    if missing:
        line = f"{address} {' '.join(missing)}\n"
        tb.run(["sh", "-c", "cat >> /etc/hosts"], input=line)


def start_pebble(
    tb,
    *hosts: str,
    http_port: int = 80,
    tls_port: int = 443,
    install: bool = True,
    unit: str = "pebble",
    timeout: float = 30,
) -> AcmeServer:
    """Install (from the prefetched .debs) and start Pebble in ``tb`` as the
    transient unit ``unit``, validating challenges on ``http_port`` and
    ``tls_port``; ``hosts`` are mapped to 127.0.0.1 (:func:`map_host`).
    Returns once the directory answers over verified HTTPS."""
    if install:
        tb.run("apt-get install -y -q --no-download " + " ".join(PACKAGES))
    if hosts:
        map_host(tb, *hosts)
    tb.run(["mkdir", "-p", PEBBLE_DIR])
    tb.run(["sh", "-c", _MAKE_TLS.format(dir=PEBBLE_DIR)])
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{ACME_PORT}",
            "managementListenAddress": f"127.0.0.1:{MANAGEMENT_PORT}",
            "certificate": f"{PEBBLE_DIR}/cert.pem",
            "privateKey": f"{PEBBLE_DIR}/key.pem",
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    tb.run(
        ["sh", "-c", f"cat > {PEBBLE_DIR}/config.json"],
        input=json.dumps(config, indent=2) + "\n",
    )
    setenv = [f"--setenv={name}={value}" for name, value in PEBBLE_ENV.items()]
    started = time.monotonic()
    tb.run(
        ["systemd-run", f"--unit={unit}", "--property=Restart=no", *setenv]
        + ["/usr/bin/pebble", "-config", f"{PEBBLE_DIR}/config.json", "-strict=false"]
    )
    server = AcmeServer(
        tb=tb,
        unit=unit,
        directory=f"https://localhost:{ACME_PORT}/dir",
        ca_bundle=f"{PEBBLE_DIR}/ca.pem",
        start_seconds=0.0,
        hosts=hosts,
    )
    probe = ["curl", "-fsS", "--cacert", server.ca_bundle, server.directory]
    deadline = started + timeout
    while True:
        if tb.run(probe, check=False).returncode == 0:
            break
        if time.monotonic() > deadline:
            raise TestbedError(
                f"Pebble did not answer at {server.directory} in {timeout}s:\n"
                + server.log()
            )
        time.sleep(0.2)
    server.start_seconds = time.monotonic() - started
    return server
