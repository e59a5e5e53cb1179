"""dist/repo/: an offline package repository an admin copies onto a USB
stick or an internal web server and installs ublog from, with no network.

* ``apt/``: a signed apt repository (reprepro), one suite per Debian
  release ublog was built for: ublog and the whole dependency closure of
  ublog on a minimal system of that release, with the point-release and
  security updates of the base packages; ``ublog-archive-keyring.gpg`` is
  its public key;
* ``simple/``: a PEP 503 index (dumb-pypi) of ``python/``: our sdists and
  wheels, every pinned dependency wheel, and the sdists of Pillow and
  psycopg-c (with what building them needs), which pip compiles against the
  system's libraries as the packages do;
* ``rpm/``: a createrepo_c repository of dist/rpm/*.rpm (if any);
* ``README``: how to use it (sources.list line, .repo file, pip), with the
  signing key's fingerprint.

The closure is computed, never listed by hand: in a fresh minbase root of
the release (:func:`ublog_build.chroot.minbase`) with the release, -updates
and -security as sources, ``apt-get upgrade`` and ``apt-get install
./ublog.deb`` (Recommends on, as on an admin's machine) download exactly the
.debs apt wants. It depends on ublog's relationship fields and the sources,
not on its files: it is cached (with the .debs) and recomputed only when
those change, or with ``refresh``.

Cached under CACHE_DIR/repo, outside dist/repo: the .debs, the closure
lists, the dumb-pypi venv and the signing key (a GnuPG home made on first
use: ed25519, no passphrase; UBLOG_REPO_GNUPGHOME points at another one,
e.g. with your organisation's key). The new tree is built next to dist/repo
and renamed into place.
"""

import datetime
import filecmp
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

from . import chroot, deb, paths, pylist, releases, run
from .errors import BuildError, MissingInput
from .releases import Release

log = run.logger("repo")

KEY_UID = "ublog archive signing key (offline repository) <ublog-archive@localhost>"
#: Bump to invalidate every cached closure (e.g. when the method changes).
CLOSURE_METHOD = 4
#: Where admins are told to put the copy (the tests do too).
MOUNT = "/media/usb/ublog-repo"


def cache() -> Path:
    return paths.cache_dir() / "repo"


def gnupg_env() -> dict[str, str]:
    home = os.environ.get("UBLOG_REPO_GNUPGHOME") or str(cache() / "gnupg")
    return run.environ(GNUPGHOME=home)


def release_debs(directory: Path | None = None) -> dict[Release, Path]:
    """The ublog .deb of each release in dist/deb, by the release its
    version names (``+deb12u1``), in the table's order."""
    directory = directory or paths.DIST / "deb"
    found: dict[Release, Path] = {}
    for path in sorted(directory.glob("ublog_*+deb[0-9]*u*_amd64.deb")):
        number = int(re.search(r"\+deb(\d+)u", path.name)[1])
        try:
            release = releases.by_number(number)
        except releases.UnknownRelease:
            raise BuildError(f"{path}: no known Debian release {number}") from None
        if release in found:
            raise BuildError(f"two .debs for {release.codename} in {directory}")
        found[release] = path
    if not found:
        raise MissingInput(f"no {directory}/ublog_*+debNNu*_amd64.deb", "make deb")
    return {r: found[r] for r in releases.RELEASES if r in found}


# -- the signing key ------------------------------------------------------------


def signing_key() -> str:
    """The fingerprint of the archive key, made on first use."""
    env = gnupg_env()
    listed = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-secret-keys", KEY_UID],
        capture_output=True,
        text=True,
        env=env,
    )
    if listed.returncode:
        if os.environ.get("UBLOG_REPO_GNUPGHOME"):
            raise BuildError(f'no secret key "{KEY_UID}" in {env["GNUPGHOME"]}')
        log.info(f"generating the archive signing key in {env['GNUPGHOME']}")
        Path(env["GNUPGHOME"]).mkdir(mode=0o700, parents=True, exist_ok=True)
        run.run(
            ["gpg", "--batch", "--quiet", "--passphrase", ""]
            + ["--quick-generate-key", KEY_UID, "ed25519", "sign", "never"],
            env=env,
        )
        listed = subprocess.run(
            ["gpg", "--batch", "--with-colons", "--list-secret-keys", KEY_UID],
            capture_output=True,
            text=True,
            env=env,
        )
    for line in listed.stdout.splitlines():
        if line.startswith("fpr:"):
            return line.split(":")[9]
    raise BuildError(f'no fingerprint for "{KEY_UID}"')


# -- the closure of ublog on a minimal system -----------------------------------


def closure_list(release: Release, ublog_deb: Path) -> Path:
    """The cached list of the closure's .deb file names (maybe not made yet)."""
    relations = deb.fields(ublog_deb, "Pre-Depends", "Depends", "Recommends")
    key = chroot.key(
        CLOSURE_METHOD,
        release.codename,
        chroot.mirror(),
        chroot.security_mirror(),
        relations.rstrip("\n"),
    )
    return cache() / f"closure-{release.codename}-{key}.list"


def closure_complete(listed: Path) -> bool:
    if not listed.is_file() or not listed.stat().st_size:
        return False
    return all((cache() / "debs" / f).is_file() for f in listed.read_text().split())


def debs_of(simulation: str) -> set[str]:
    """The .deb file names of what ``apt-get -s`` would install: "Inst NAME
    [OLD] (VERSION ARCHIVES [ARCH])" downloads NAME_VERSION_ARCH.deb, with
    ':' written %3a (apt 3 may add a "[]" after the parenthesis)."""
    found = set()
    for line in simulation.splitlines():
        words = line.split()
        if len(words) < 2 or words[0] != "Inst" or words[1] == "ublog":
            continue
        inside = line.split("(", 1)[1].split(")", 1)[0].split()
        version, arch = inside[0].replace(":", "%3a"), inside[-1].strip("[]")
        found.add(f"{words[1]}_{version}_{arch}.deb")
    return found


def compute_closure(release: Release, ublog_deb: Path, listed: Path, work: Path):
    root = work / f"chroot-{release.codename}"
    chroot.unpack(chroot.minbase(release), root)
    archives = root / "var" / "cache" / "apt" / "archives"
    # Start from what earlier runs downloaded (hard links, same file system).
    for cached_deb in (cache() / "debs").glob("*.deb"):
        try:
            os.link(cached_deb, archives / cached_deb.name)
        except OSError:
            break
    shutil.copy2(ublog_deb, root / "tmp")
    local = f"/tmp/{ublog_deb.name}"
    log.info(
        f"computing the closure against {chroot.mirror()} "
        f"({release.codename}, -updates, -security)"
    )
    chroot.apt_update(root)
    recommends = ["-o", "APT::Install-Recommends=true"]
    simulated = "".join(
        chroot.root_output(root, ["apt-get", "-s", *recommends, *action])
        for action in (["upgrade"], ["install", local])
    )
    wanted = sorted(debs_of(simulated))
    if not wanted:
        raise BuildError("apt wanted no packages at all?")
    for action in (["upgrade"], ["install", local]):
        chroot.in_root(
            root, ["apt-get", "-y", "-qq", "--download-only", *recommends, *action]
        )
    for name in wanted:
        downloaded = archives / name
        if not downloaded.is_file():
            raise BuildError(f"apt did not download {name}")
        target = cache() / "debs" / name
        if not target.exists():
            try:
                os.link(downloaded, target)
            except OSError:
                shutil.copy2(downloaded, target)
    listed.write_text("".join(f"{name}\n" for name in wanted))
    chroot.remove(root)


def closure(release: Release, ublog_deb: Path, work: Path, refresh: bool) -> list:
    """The .debs (in the cache) apt wants to install ublog on ``release``."""
    listed = closure_list(release, ublog_deb)
    if refresh or not closure_complete(listed):
        compute_closure(release, ublog_deb, listed, work)
    else:
        count = len(listed.read_text().split())
        log.info(
            f"{release.codename}: closure unchanged: {count} .debs "
            "(--refresh to recompute)"
        )
    return [cache() / "debs" / name for name in listed.read_text().split()]


# -- the parts of dist/repo -----------------------------------------------------


def apt_repository(new: Path, work: Path, debs: dict, closures: dict, fpr: str):
    """dist/repo/apt: reprepro, signed; returns the number of .debs."""
    log.info(
        f"apt repository (reprepro, signed by {fpr}): "
        + " ".join(r.codename for r in debs)
    )
    conf = work / "reprepro" / "conf"
    conf.mkdir(parents=True)
    (new / "apt").mkdir()
    (conf / "distributions").write_text(
        "".join(
            f"Origin: ublog\nLabel: ublog offline\nSuite: {r.codename}\n"
            f"Codename: {r.codename}\nArchitectures: amd64\nComponents: main\n"
            "Description: ublog and everything it needs on a minimal "
            f"Debian {r.number}, offline\nSignWith: {fpr}\n\n"
            for r in debs
        )
    )
    env = gnupg_env()
    for release, ublog_deb in debs.items():
        run.run(
            ["reprepro", "--silent", "--basedir", work / "reprepro"]
            + ["--outdir", new / "apt", "includedeb", release.codename]
            + [ublog_deb, *closures[release]],
            env=env,
        )
    keyring = new / "apt" / "ublog-archive-keyring"
    keyring.with_suffix(".gpg").write_bytes(_export(fpr, env))
    keyring.with_suffix(".asc").write_bytes(_export(fpr, env, "--armor"))
    return len(list((new / "apt" / "pool").rglob("*.deb")))


def _export(fpr: str, env: dict, *options: str) -> bytes:
    """The public key, as ``gpg --export`` writes it."""
    return subprocess.run(
        ["gpg", "--batch", *options, "--export", fpr],
        capture_output=True,
        check=True,
        env=env,
    ).stdout


def dumb_pypi() -> Path:
    """dumb-pypi, pinned by requirements/repo.txt, in a venv of the cache."""
    tools = cache() / "tools"
    requirements = paths.ROOT / "requirements" / "repo.txt"
    installed = tools / "requirements.txt"
    if not installed.is_file() or not filecmp.cmp(requirements, installed, False):
        chroot.remove(tools)
        run.run(["/usr/bin/python3", "-m", "venv", tools])
        run.run(
            [tools / "bin" / "pip", "install", "--quiet"]
            + ["--cache-dir", paths.cache_dir() / "pip"]
            + ["--require-hashes", "-r", requirements],
            env=run.environ(PIP_CONFIG_FILE="/dev/null"),
        )
        shutil.copy2(requirements, installed)
    return tools / "bin" / "dumb-pypi"


def python_index(new: Path, work: Path) -> int:
    """dist/repo/python + simple: the files and their PEP 503 index."""
    log.info("PEP 503 index (dumb-pypi)")
    generator = dumb_pypi()
    files = new / "python"
    files.mkdir()
    python_dist = paths.DIST / "python"
    for path in (
        sorted(python_dist.glob("*.whl"))
        + sorted(python_dist.glob("*.tar.gz"))
        + sorted((paths.DIST / "wheelhouse").glob("*.whl"))
        + sorted((paths.DIST / "wheelhouse").glob("*.tar.gz"))
    ):
        shutil.copy2(path, files)
    listing = pylist.package_list(files)
    (work / "packages.json").write_text(listing)
    run.run(
        [generator, "--package-list-json", work / "packages.json"]
        + ["--output-dir", work / "pypi", "--packages-url", "../../python/"]
        + ["--title", "ublog offline index", "--no-generate-timestamp"]
        + ["--no-per-release-json"]
    )
    (work / "pypi" / "simple").rename(new / "simple")
    return len(listing.splitlines())


def rpm_repository(new: Path) -> str:
    """dist/repo/rpm: createrepo_c; returns the README's note on it."""
    rpms = sorted((paths.DIST / "rpm").glob("*.rpm"))
    if not rpms:
        log.info(
            "note: no dist/rpm/*.rpm: dist/repo/rpm/ left out (build the RPM first)"
        )
        return "no RPM repository in this build (dist/rpm/ was empty)"
    log.info(f"RPM repository (createrepo_c): {' '.join(p.name for p in rpms)}")
    (new / "rpm").mkdir()
    for path in rpms:
        shutil.copy2(path, new / "rpm")
    run.run(["createrepo_c", "--quiet", new / "rpm"])
    return f"dist/repo/rpm/: {len(rpms)} RPM(s), createrepo_c metadata"


# -- README ---------------------------------------------------------------------


def readme(debs: dict, fpr: str, rpm_note: str, apt_count: int, py_count: int):
    built = list(debs)
    suite_list = ", ".join(f'{r.number} "{r.codename}"' for r in built)
    title = f"apt (Debian {suite_list}, amd64) -- apt/"
    suffixes = ", ".join(
        f'{r.version_suffix} for Debian {r.number} "{r.codename}"' for r in built
    )
    holding = textwrap.fill(
        "A signed apt repository with one suite per Debian release, each holding "
        f"ublog (built for that release: {suffixes}) and every package it needs "
        "on a minimal system of that release (PostgreSQL, nginx, Python and "
        "their whole dependency closure), plus the current point-release and "
        "security updates of the base packages apt would want (from "
        f"{chroot.mirror().split('/')[2]}: SUITE, SUITE-updates and "
        "SUITE-security), as of the build date below: updates published later "
        "are not here; rebuild with `tools/ublog-build repo --refresh` and copy "
        "again. Its signing key:",
        width=78,
    )
    python = releases.RPM_PYTHON
    same = [r for r in releases.RELEASES if r.python == python]
    example = f", e.g. Debian {same[0].number}'s python3" if same else ""
    pip_title = f"pip (CPython {python} on x86_64 Linux{example}) -- simple/"
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    signed = "signed-by=/usr/share/keyrings/ublog-archive-keyring.gpg"
    return f"""\
ublog offline repository
========================

Copy this whole directory anywhere (below: {MOUNT}, e.g. a USB
stick, or an internal web server: use http://HOST/PATH for file:/PATH).
Nothing here needs network access.

{title}
{"-" * len(title)}
{holding}

    fingerprint {fpr}

As root, with SUITE the release's code name (`. /etc/os-release; echo
$VERSION_CODENAME` prints it; suites here: {" ".join(r.codename for r in built)}):

    install -m 644 {MOUNT}/apt/ublog-archive-keyring.gpg \\
        /usr/share/keyrings/ublog-archive-keyring.gpg
    echo 'deb [{signed}] file:{MOUNT}/apt SUITE main' \\
        > /etc/apt/sources.list.d/ublog.list
    apt-get update
    apt-get install ublog

Check the fingerprint above against the one your release notes give before
trusting the key. Signatures are checked: never add [trusted=yes].

{pip_title}
{"-" * len(pip_title)}
A PEP 503 index of ublog-posts, ublog-accounts, ublog-site (sdists and wheels)
and every pinned dependency (files in python/, sha256 checked by pip). Pillow
and psycopg-c are sdists, linked by pip to the system's own libraries (which
get its security updates): it needs a C compiler and their headers, on
Debian: apt-get install build-essential python3-dev libjpeg-dev zlib1g-dev
libwebp-dev libpq-dev.

    python3 -m venv venv
    venv/bin/pip install --index-url file://{MOUNT}/simple ublog-posts

(or pip.conf: [global] index-url = file://{MOUNT}/simple)

dnf/yum -- rpm/
---------------
{rpm_note}. Put this in /etc/yum.repos.d/ublog.repo:

    [ublog]
    name=ublog (offline)
    baseurl=file://{MOUNT}/rpm
    enabled=1
    gpgcheck=0

then: dnf install ublog

Built {when} by tools/ublog-build repo from
{" ".join(p.name for p in debs.values())}:
{apt_count} Debian packages, {py_count} Python distributions.
"""


# -- the whole -------------------------------------------------------------------


def build(refresh: bool = False) -> Path:
    """Build dist/repo (or ``$REPO_OUT``) anew; its path."""
    started = time.monotonic()
    run.require_root("chroot, debootstrap")
    run.require_tools("reprepro", "gpg", "gpgconf", "debootstrap", "dpkg-deb")
    run.require_tools("tar", "zstd", "chroot")
    debs = release_debs()
    if not list((paths.DIST / "python").glob("*.whl")):
        raise MissingInput("no wheels in dist/python", "make python")
    if not list((paths.DIST / "wheelhouse").glob("*.whl")):
        raise MissingInput("no wheels in dist/wheelhouse", "make rpm")
    if list((paths.DIST / "rpm").glob("*.rpm")):
        run.require_tools("createrepo_c")
    out = Path(os.environ.get("REPO_OUT") or paths.DIST / "repo")
    out.parent.mkdir(parents=True, exist_ok=True)
    (cache() / "debs").mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=".repo.new.", dir=out.parent))
    try:
        with chroot.workdir(cache()) as work:
            fpr = signing_key()
            closures = {r: closure(r, d, work, refresh) for r, d in debs.items()}
            apt_count = apt_repository(new, work, debs, closures, fpr)
            py_count = python_index(new, work)
            rpm_note = rpm_repository(new)
            (new / "README").write_text(
                readme(debs, fpr, rpm_note, apt_count, py_count)
            )
        run.run(["chmod", "-R", "a+rX", new])
        old = out.with_name(out.name + ".old")
        chroot.remove(old)
        if out.exists():
            out.rename(old)
        new.rename(out)
        chroot.remove(old)
    finally:
        chroot.remove(new)
        # gpg and reprepro start a gpg-agent for this GnuPG home: end it.
        subprocess.run(
            ["gpgconf", "--kill", "gpg-agent"], env=gnupg_env(), capture_output=True
        )
    log.info(
        f"wrote {out}: {run.size(out)}; apt: {apt_count} .debs "
        f"({run.size(out / 'apt')}), python: {py_count} files; "
        f"{time.monotonic() - started:.0f} s"
    )
    return out
