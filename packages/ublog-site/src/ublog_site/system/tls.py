"""The certificate and key nginx serves, per ``[tls] mode``.

- ``self-signed``: Debian's ssl-cert "snakeoil" pair (made by the ssl-cert
  package for this host's name; ``make-ssl-cert`` makes it again if it is
  gone); where ssl-cert does not exist (EL), openssl makes a pair under
  /etc/ublog/tls once.
- ``files``: the admin's paths, which must exist. ublog-tls-reload.path
  watches them (a drop-in names them) and reloads nginx when a renewal
  replaces them.
- ``acme``: certbot (Debian's certbot and python3-certbot-nginx) obtains a
  certificate named ``ublog`` for ``host_name`` from ``acme_server`` with its
  nginx plugin (``certonly``: it answers the challenge on port 80 for the
  time it runs and leaves ublog's site alone), and certbot.timer renews it,
  reloading nginx. It asks again when the name or the server changed.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from .commands import have, run, systemd_running
from .errors import AdminError
from .nginx_site import Tls

SNAKEOIL = Tls(
    "/etc/ssl/certs/ssl-cert-snakeoil.pem", "/etc/ssl/private/ssl-cert-snakeoil.key"
)
OWN_SELF_SIGNED = Tls(
    "/etc/ublog/tls/self-signed.crt", "/etc/ublog/tls/self-signed.key"
)
LETSENCRYPT = Path("/etc/letsencrypt")
CERT_NAME = "ublog"
ACME = Tls(
    str(LETSENCRYPT / "live" / CERT_NAME / "fullchain.pem"),
    str(LETSENCRYPT / "live" / CERT_NAME / "privkey.pem"),
)
#: What the last certbot run obtained: "host_name server".
ACME_RECORD = Path("/var/lib/ublog/.acme")
#: certbot's nginx plugin (Debian's python3-certbot-nginx, EPEL's).
NGINX_PLUGIN = "python3*/*-packages/certbot_nginx"
RELOAD_UNIT = "ublog-tls-reload.path"
RELOAD_DROPIN = Path(f"/etc/systemd/system/{RELOAD_UNIT}.d/ublog-files.conf")


@dataclass(frozen=True)
class Acme:
    """What certbot is asked for."""

    host_name: str
    server: str
    email: str

    @property
    def record(self) -> str:
        return f"{self.host_name} {self.server}\n"


def acme_of(config: Config) -> Acme:
    admins = config["ublog", "admins"]
    email = config["tls", "acme_email"] or (admins[0] if admins else "")
    if "<" in email:  # "Jane Doe <jane@example.org>"
        email = email.split("<", 1)[1].rstrip(">").strip()
    return Acme(config["ublog", "host_name"], config["tls", "acme_server"], email)


def files_of(config: Config) -> Tls:
    tls = Tls(str(config["tls", "certificate"]), str(config["tls", "key"]))
    for path in (tls.certificate, tls.key):
        if not Path(path).is_file():
            raise AdminError(
                f"[tls] mode = files: {path} does not exist",
                "put the certificate chain and key there (PEM), then: ublog-ctl setup",
            )
    return tls


def self_signed(host_name: str) -> tuple[Tls, list[str]]:
    """The snakeoil pair, made if missing; EL: our own pair."""
    if have("make-ssl-cert"):
        if Path(SNAKEOIL.certificate).is_file() and Path(SNAKEOIL.key).is_file():
            return SNAKEOIL, []
        run(
            ["make-ssl-cert", "generate-default-snakeoil"],
            what="making the self-signed (snakeoil) certificate",
        )
        return SNAKEOIL, [f"made the self-signed certificate {SNAKEOIL.certificate}"]
    tls = OWN_SELF_SIGNED
    if Path(tls.certificate).is_file() and Path(tls.key).is_file():
        return tls, []
    Path(tls.key).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = host_name or os.uname().nodename
    run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650"]
        + ["-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"]
        + ["-keyout", tls.key, "-out", tls.certificate],
        what="making a self-signed certificate",
    )
    os.chmod(tls.key, 0o600)
    return tls, [f"made the self-signed certificate {tls.certificate}"]


def acme_needed(acme: Acme) -> bool:
    """Whether certbot must ask (no certificate, or another name/server)."""
    have_cert = Path(ACME.certificate).exists() and Path(ACME.key).exists()
    recorded = ACME_RECORD.read_text() if ACME_RECORD.is_file() else ""
    return not have_cert or recorded != acme.record


def obtain(acme: Acme) -> list[str]:  # pragma: no cover (tests/install)
    """Ask the ACME server for a certificate, answering its HTTP challenge
    through the running nginx."""
    if not (have("certbot") and any(Path("/usr/lib").glob(NGINX_PLUGIN))):
        raise AdminError(
            "[tls] mode = acme needs certbot and its nginx plugin",
            "apt install certbot python3-certbot-nginx, then: ublog-ctl setup",
        )
    if not systemd_running():
        raise AdminError(
            "[tls] mode = acme needs nginx running to answer the ACME challenge",
            "boot the host, then: ublog-ctl setup",
        )
    contact = (
        ["-m", acme.email] if acme.email else ["--register-unsafely-without-email"]
    )
    run(
        ["certbot", "certonly", "--nginx", "--non-interactive", "--agree-tos"]
        + ["--cert-name", CERT_NAME, "-d", acme.host_name, "--server", acme.server]
        + contact
        + ["--deploy-hook", "systemctl reload nginx"],
        what=f"getting a certificate for {acme.host_name} from {acme.server}",
        hint=(
            f"{acme.host_name} must resolve to this host and reach it on port 80; "
            "see /var/log/letsencrypt/letsencrypt.log, then: ublog-ctl setup"
        ),
    )
    ACME_RECORD.write_text(acme.record)
    return [f"got a certificate for {acme.host_name} from {acme.server} (certbot)"]


def watch_files(tls: Tls | None) -> list[str]:  # pragma: no cover (tests/install)
    """``mode = files``: let ublog-tls-reload.path watch the two files; any
    other mode: stop watching."""
    if not systemd_running():
        return []
    text = ""
    if tls is not None:
        text = (
            "# Written by `ublog-ctl setup` from [tls] in /etc/ublog/ublog.conf.\n"
            f"[Path]\nPathChanged={tls.certificate}\nPathChanged={tls.key}\n"
        )
    current = RELOAD_DROPIN.read_text() if RELOAD_DROPIN.is_file() else ""
    if text == current:
        return []
    if text:
        RELOAD_DROPIN.parent.mkdir(parents=True, exist_ok=True)
        RELOAD_DROPIN.write_text(text)
    else:
        RELOAD_DROPIN.unlink()
    run(["systemctl", "daemon-reload"], what="reloading systemd")
    verb = ["enable", "--now"] if text else ["disable", "--now"]
    run(["systemctl", *verb, RELOAD_UNIT], what=f"systemctl {verb[0]} {RELOAD_UNIT}")
    if text:
        return [f"nginx reloads when {tls.certificate} or {tls.key} change"]
    return [f"stopped watching certificate files ({RELOAD_UNIT})"]
