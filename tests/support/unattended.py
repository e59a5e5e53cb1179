"""unattended-upgrades in a testbed, and the ublog an older site runs.

* :func:`default_site`: the nginx site a .deb's ``ublog-ctl setup`` writes
  for the default configuration (rendered on the host by that .deb's own
  ``ublog_site.system.nginx_site``);
* :func:`with_conffiles`: a .deb repacked as an older version that still
  ships files under /etc as conffiles, as ublog before 0.1.1 did (and
  without the ``dpkg-maintscript-helper`` calls that remove them, which a
  version that shipped them could not have had);
* :func:`publish`: the container's local repository (see
  :mod:`support.localrepo`) with a ``Release`` file naming an origin, so
  that ``Unattended-Upgrade::Origins-Pattern`` can allow it;
* :func:`allow_origin`, :func:`unattended_upgrade`: unattended-upgrades
  limited to that origin, and one run of it as the daily timer runs it
  (no terminal, ``DEBIAN_FRONTEND`` unset);
* :func:`body_limit_answer`: how nginx answers a request body of some size.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
import time
from pathlib import Path

from support.httpclient import answer_head
from support.localrepo import APT_LOCAL, LOCAL_LIST, REPO
from support.rebuilt_debs import host, set_version, write_md5sums

#: The origin (and label) of the local repository's Release file.
ORIGIN = "ublog-test"
#: unattended-upgrades' configuration for the test: only that origin.
UU_CONF = "/etc/apt/apt.conf.d/51ublog-test"
UU_LOG = "/var/log/unattended-upgrades/unattended-upgrades.log"
UU_DPKG_LOG = "/var/log/unattended-upgrades/unattended-upgrades-dpkg.log"
#: What unattended-upgrade says when it holds a package back on a conffile.
PROMPT = "has conffile prompt and needs to be upgraded manually"
#: What it says (with --debug) once it checked the .debs for conffile
#: prompts and held none back.
NO_PROMPT = "Packages blacklist due to conffile prompts: []"
#: Where the rm_conffile calls of a .deb's maintainer scripts are.
MAINTAINER_SCRIPTS = ("preinst", "postinst", "prerm", "postrm")


def default_site(deb: Path) -> str:
    """The site ``deb``'s setup generates for the default ublog.conf."""
    with tempfile.TemporaryDirectory(prefix="ublog-site.") as work:
        host("dpkg-deb", "--extract", deb, work)
        found = sorted(
            Path(work).glob(
                "opt/venvs/ublog/lib/python3*/site-packages/"
                "ublog_site/system/nginx_site.py"
            )
        )
        assert len(found) == 1, f"nginx_site.py in {deb.name}: {found}"
        name = "_ublog_deb_nginx_site"
        spec = importlib.util.spec_from_file_location(name, found[0])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up
        try:
            spec.loader.exec_module(module)
            return module.render(module.SiteSpec())
        finally:
            del sys.modules[name]


def strip_rm_conffile(script: str) -> tuple[str, int]:
    """``script`` without its ``dpkg-maintscript-helper rm_conffile`` lines;
    how many there were."""
    lines = script.splitlines(keepends=True)
    kept = [
        line
        for line in lines
        if not line.lstrip().startswith("dpkg-maintscript-helper rm_conffile ")
    ]
    return "".join(kept), len(lines) - len(kept)


def with_conffiles(
    deb: Path, workdir: Path, version: str, conffiles: dict[str, str]
) -> Path:
    """``deb`` repacked in ``workdir`` as ``version``, shipping ``conffiles``
    (``{path: text}``) as conffiles and none of its rm_conffile calls."""
    tree = workdir / "old.tree"
    host("dpkg-deb", "--raw-extract", deb, tree)
    set_version(tree, version)
    control = tree / "DEBIAN"
    listed = control / "conffiles"
    names = listed.read_text().split() if listed.exists() else []
    for path, text in conffiles.items():
        target = tree / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        for parent in [target.parent, *target.parent.parents]:
            if parent == tree:
                break
            parent.chmod(0o755)
        target.write_text(text)
        target.chmod(0o644)
        names.append(path)
    listed.write_text("".join(f"{name}\n" for name in names))
    listed.chmod(0o644)
    removed = 0
    for name in MAINTAINER_SCRIPTS:
        script = control / name
        if script.exists():
            text, count = strip_rm_conffile(script.read_text())
            script.write_text(text)
            removed += count
    assert "rm_conffile" not in "".join(
        (control / name).read_text()
        for name in MAINTAINER_SCRIPTS
        if (control / name).exists()
    )
    write_md5sums(tree)
    package = host("dpkg-deb", "-f", deb, "Package").strip()
    arch = host("dpkg-deb", "-f", deb, "Architecture").strip()
    out = workdir / f"{package}_{version.replace(':', '%3a')}_{arch}.deb"
    host("dpkg-deb", "--root-owner-group", "--build", tree, out)
    return out


def publish(tb, *debs: Path) -> None:
    """Add ``debs`` to the container's local repository, index it with a
    Release file of origin :data:`ORIGIN`, and update from it."""
    for deb in debs:
        tb.copy_in(deb, f"{REPO}/{deb.name}")
    release = " ".join(
        f"-o APT::FTPArchive::Release::{field}={ORIGIN}"
        for field in ("Origin", "Label", "Suite")
    )
    tb.run(
        f"cd {REPO} && rm -f Release && apt-ftparchive packages . > Packages && "
        f"apt-ftparchive {release} release . > /tmp/Release && mv /tmp/Release Release"
    )
    tb.run(f"echo 'deb [trusted=yes] file:{REPO} ./' > {LOCAL_LIST}")
    tb.run(f"apt-get update -q {APT_LOCAL}")


def allow_origin(tb) -> None:
    """unattended-upgrades allows :data:`ORIGIN` and nothing else (Debian's
    mirror is unreachable from a testbed)."""
    tb.run(["sh", "-c", f"cat > {UU_CONF}"], input=(
        "#clear Unattended-Upgrade::Origins-Pattern;\n"
        f'Unattended-Upgrade::Origins-Pattern {{ "origin={ORIGIN}"; }};\n'
    ))  # fmt: skip
    patterns = tb.run("apt-config dump Unattended-Upgrade::Origins-Pattern").stdout
    listed = re.findall(
        r'^Unattended-Upgrade::Origins-Pattern:: "(.*)";$', patterns, re.M
    )
    assert listed == [f"origin={ORIGIN}"], patterns
    # Neither --force-confold nor --force-confnew: unattended-upgrade checks
    # each .deb for a conffile prompt (and holds it back) only without them.
    options = tb.run("apt-config dump DPkg::Options").stdout
    assert "--force-conf" not in options, options


def unattended_upgrade(tb, timeout: float = 900):
    """One ``unattended-upgrade -v -d`` as apt-daily-upgrade.service runs it:
    no terminal, no stdin, ``DEBIAN_FRONTEND`` unset; its result, its
    duration in seconds, and what it appended to its log."""
    logged = tb.run(f"cat {UU_LOG} 2>/dev/null || true").stdout
    started = time.monotonic()
    result = tb.run(
        "unset DEBIAN_FRONTEND; exec unattended-upgrade -v -d </dev/null",
        check=False,
        timeout=timeout,
    )
    took = time.monotonic() - started
    log = tb.run(f"cat {UU_LOG}").stdout
    assert log.startswith(logged)
    return result, took, log[len(logged) :]


def conffiles(tb, package: str) -> dict[str, str]:
    """The conffiles dpkg records for ``package``: ``{path: md5}`` (obsolete
    ones too)."""
    out = tb.run(["dpkg-query", "-W", "-f", "${Conffiles}", package]).stdout
    return {line.split()[0]: line.split()[1] for line in out.splitlines() if line}


def md5(tb, path: str) -> str:
    return tb.run(["md5sum", path]).stdout.split()[0]


def body_limit_answer(address: str, length: int, send: bool) -> bytes:
    """The head of nginx's answer to a POST of ``length`` bytes (sent only
    when ``send``: nginx refuses a body over its limit on the headers)."""
    head = (
        f"POST / HTTP/1.1\r\nHost: {address}\r\nContent-Length: {length}\r\n"
        "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    ).encode()
    body = [b"x" * length] if send else []
    answer = answer_head(address, [head, *body], until=b"\r\n\r\n", timeout=60)
    return answer.split(b"\r\n\r\n", 1)[0]
