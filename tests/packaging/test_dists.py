"""Checks on the sdists and wheels in dist/python: what they carry, their
metadata (twine, check-wheel-contents), byte-reproducibility, and that each
installs alone into a fresh venv."""

import configparser
import gettext
import io
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from support.digests import sha256

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist" / "python"
VERSION = "0.1.0"

# package -> (module, files every wheel must carry, relative to the module)
PACKAGES = {
    "ublog-posts": (
        "ublog_posts",
        [
            "templates/ublog_posts/base.html",
            "templates/ublog_posts/post_list.html",
            "templates/ublog_posts/post_form.html",
            "templates/ublog_posts/post_confirm_delete.html",
            "static/ublog_posts/like.js",
            "static/ublog_posts/posts.css",
            "fixtures/ublog_posts_demo.json",
            "locale/de/LC_MESSAGES/django.po",
            "locale/de/LC_MESSAGES/django.mo",
            "migrations/__init__.py",
            "migrations/0001_initial.py",
            "migrations/0003_images.py",
            "management/commands/processimages.py",
            "apps.py",
        ],
    ),
    "ublog-accounts": (
        "ublog_accounts",
        [
            "templates/ublog_accounts/base.html",
            "templates/ublog_accounts/signup.html",
            "templates/ublog_accounts/activate.html",
            "templates/ublog_accounts/login.html",
            "templates/ublog_accounts/activation_email_subject.txt",
            "templates/ublog_accounts/activation_email_body.txt",
            "static/ublog_accounts/accounts.css",
            "fixtures/ublog_accounts_demo.json",
            "locale/de/LC_MESSAGES/django.po",
            "locale/de/LC_MESSAGES/django.mo",
            "apps.py",
        ],
    ),
    "ublog-site": (
        "ublog_site",
        [
            "templates/ublog_site/base.html",
            "templates/ublog_posts/base.html",
            "templates/ublog_accounts/base.html",
            "static/ublog_site/site.css",
            "locale/de/LC_MESSAGES/django.po",
            "locale/de/LC_MESSAGES/django.mo",
            "conf/ublog.conf.example",
            "settings.py",
            "wsgi.py",
            "ctl.py",
        ],
    ),
}


def dist_name(package):
    return package.replace("-", "_")


def wheel_path(package, directory=DIST):
    return directory / f"{dist_name(package)}-{VERSION}-py3-none-any.whl"


def sdist_path(package, directory=DIST):
    return directory / f"{dist_name(package)}-{VERSION}.tar.gz"


def build(package, outdir, epoch):
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch), PIP_CONFIG_FILE="/dev/null")
    subprocess.run(
        [sys.executable, "-m", "build", "--installer", "uv", "--outdir", str(outdir)]
        + [str(ROOT / "packages" / package)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session", autouse=True)
def dist_is_built():
    missing = [
        p.name
        for package in PACKAGES
        for p in (wheel_path(package), sdist_path(package))
        if not p.exists()
    ]
    if missing:
        pytest.fail(f"run `make` first: missing in {DIST}: {', '.join(missing)}")


def test_dist_holds_exactly_the_three_packages():
    names = sorted(p.name for p in DIST.iterdir() if p.suffix in (".whl", ".gz"))
    expected = sorted(
        name
        for package in PACKAGES
        for name in (wheel_path(package).name, sdist_path(package).name)
    )
    assert names == expected


@pytest.mark.parametrize("package", PACKAGES)
def test_wheel_carries_templates_static_fixtures_migrations(package):
    module, required = PACKAGES[package]
    with zipfile.ZipFile(wheel_path(package)) as wheel:
        names = set(wheel.namelist())
        assert wheel.testzip() is None
    missing = [f for f in required if f"{module}/{f}" not in names]
    assert not missing, f"{package} wheel lacks {missing}"
    # Only the module and its metadata: no tests, no stray top-level packages.
    tops = {n.split("/")[0] for n in names}
    assert tops == {module, f"{dist_name(package)}-{VERSION}.dist-info"}
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


@pytest.mark.parametrize("package", PACKAGES)
def test_sdist_carries_sources_tests_and_docs(package):
    module, required = PACKAGES[package]
    prefix = f"{dist_name(package)}-{VERSION}/"
    with tarfile.open(sdist_path(package)) as sdist:
        names = {m.name.removeprefix(prefix) for m in sdist.getmembers()}
    for name in ["pyproject.toml", "README.rst", "LICENSE", "PKG-INFO"]:
        assert name in names, f"{package} sdist lacks {name}"
    assert any(n.startswith("tests/") and n.endswith(".py") for n in names)
    # The catalogs are compiled when the wheel is built (hatch-msgfmt-s-ball).
    missing = [
        f for f in required if f"src/{module}/{f}" not in names and f[-3:] != ".mo"
    ]
    assert not missing, f"{package} sdist lacks {missing}"
    assert not [n for n in names if n.endswith(".mo")], "compiled catalogs in sdist"
    if package != "ublog-site":
        assert "CHANGELOG.rst" in names


@pytest.mark.parametrize("package", PACKAGES)
def test_wheel_catalogs_are_complete_and_compiled_from_their_po(package):
    """Every message of the German catalog is translated, and the compiled
    catalog the wheel carries gives exactly those translations."""
    from babel.messages.pofile import read_po

    module = PACKAGES[package][0]
    base = f"{module}/locale/de/LC_MESSAGES/django"
    with zipfile.ZipFile(wheel_path(package)) as wheel:
        catalog = read_po(io.BytesIO(wheel.read(f"{base}.po")), locale="de")
        compiled = gettext.GNUTranslations(io.BytesIO(wheel.read(f"{base}.mo")))
    messages = [m for m in catalog if m.id]
    assert messages, f"{package}: an empty catalog"
    untranslated = [
        m.id
        for m in messages
        if m.fuzzy or not all(m.string if m.pluralizable else [m.string])
    ]
    assert not untranslated, f"{package}: not translated: {untranslated}"
    for message in messages:
        if message.pluralizable:
            singular, plural = message.id
            for n, expected in ((1, message.string[0]), (2, message.string[1])):
                assert compiled.ngettext(singular, plural, n) == expected
        elif message.context:
            assert compiled.pgettext(message.context, message.id) == message.string
        else:
            assert compiled.gettext(message.id) == message.string


@pytest.mark.parametrize("package", ["ublog-posts", "ublog-accounts"])
def test_apps_name_their_project_urls(package):
    with zipfile.ZipFile(wheel_path(package)) as wheel:
        metadata = wheel.read(f"{dist_name(package)}-{VERSION}.dist-info/METADATA")
    urls = [
        line
        for line in metadata.decode().splitlines()
        if line.startswith("Project-URL")
    ]
    names = {url.split(":", 1)[1].split(",")[0].strip() for url in urls}
    assert {"Homepage", "Documentation", "Changelog", "Source"} <= names


def test_site_wheel_declares_console_script_and_pins_apps():
    with zipfile.ZipFile(wheel_path("ublog-site")) as wheel:
        info = f"ublog_site-{VERSION}.dist-info"
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
        metadata = wheel.read(f"{info}/METADATA").decode()
    assert "ublog-ctl = ublog_site.ctl:main" in entry_points
    assert f"Requires-Dist: ublog-posts=={VERSION}" in metadata
    assert f"Requires-Dist: ublog-accounts=={VERSION}" in metadata


def tox_matrix(package_factor):
    """The (Python, Django) versions tox.ini tests a package with: env_list's
    brace groups expanded, pyXYZ read as X.YZ and djXY through its
    DJANGO_SPEC line (the lower bound)."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    envs = []
    for line in config["tox"]["env_list"].split():
        expanded = [""]
        for part in re.split(r"(\{[^}]*\})", line):
            choices = part[1:-1].split(",") if part.startswith("{") else [part]
            expanded = [head + choice for head in expanded for choice in choices]
        envs += expanded
    specs = dict(
        re.findall(
            r"^(dj\d+): DJANGO_SPEC = Django>=([\d.]+),",
            config["testenv"]["set_env"],
            re.M,
        )
    )
    pythons, djangos = set(), set()
    for env in envs:
        factors = env.split("-")
        if package_factor in factors:
            pythons.add(f"{factors[0][2]}.{factors[0][3:]}")
            djangos.add(specs[factors[1]])
    return pythons, djangos


@pytest.mark.parametrize(
    "package, factor", [("ublog-posts", "posts"), ("ublog-accounts", "accounts")]
)
def test_apps_declare_every_version_of_the_tox_matrix(package, factor):
    with zipfile.ZipFile(wheel_path(package)) as wheel:
        metadata = wheel.read(f"{dist_name(package)}-{VERSION}.dist-info/METADATA")
    classifiers = {
        line.split(": ", 1)[1]
        for line in metadata.decode().splitlines()
        if line.startswith("Classifier: ")
    }
    pythons, djangos = tox_matrix(factor)
    assert len(pythons) >= 4 and len(djangos) >= 4, (pythons, djangos)
    declared_pythons = {
        c.rsplit(" :: ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    declared_djangos = {
        c.rsplit(" :: ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Framework :: Django :: \d+\.\d+", c)
    }
    assert declared_pythons == pythons
    assert declared_djangos == djangos
    assert "requires-dist: django" in metadata.decode().lower()


def test_twine_check_strict():
    files = sorted(str(p) for p in DIST.iterdir() if p.suffix in (".whl", ".gz"))
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == len(files)


def test_check_wheel_contents():
    wheels = sorted(str(p) for p in DIST.glob("*.whl"))
    # W004 ("not a valid Python identifier") fires on every Django migration
    # module (0001_initial.py); Django imports those by file, not by name.
    result = subprocess.run(
        ["check-wheel-contents", "--ignore", "W004", *wheels],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("package", PACKAGES)
def test_builds_are_byte_reproducible(package, tmp_path):
    epoch = 1767225600
    first, second = tmp_path / "first", tmp_path / "second"
    build(package, first, epoch)
    build(package, second, epoch)
    for artifact in (wheel_path(package, first), sdist_path(package, first)):
        twin = second / artifact.name
        assert sha256(artifact) == sha256(twin), f"{artifact.name} differs"
    # And the dist/python artifacts match a rebuild with make's epoch.
    make_epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if make_epoch:
        third = tmp_path / "third"
        build(package, third, make_epoch)
        assert sha256(wheel_path(package, third)) == sha256(wheel_path(package))
        assert sha256(sdist_path(package, third)) == sha256(sdist_path(package))


@pytest.mark.parametrize("package", PACKAGES)
def test_installs_alone_into_a_fresh_venv(package, tmp_path):
    module = PACKAGES[package][0]
    venv = tmp_path / "venv"
    subprocess.run(["uv", "venv", "--quiet", "-p", "python3.12", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        ["uv", "pip", "install", "--quiet", "--python", str(python)]
        + ["--find-links", str(DIST), package],
        check=True,
    )
    freeze = subprocess.run(
        ["uv", "pip", "freeze", "--python", str(python)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = {line.split("==")[0].lower() for line in freeze.split()}
    ours = {p for p in PACKAGES if p in installed}
    expected = {package} | (
        {"ublog-posts", "ublog-accounts"} if package == "ublog-site" else set()
    )
    assert ours == expected
    code = (
        "import django\n"
        "from django.conf import settings\n"
        f"settings.configure(INSTALLED_APPS=['django.contrib.auth',"
        f"'django.contrib.contenttypes', '{module}'])\n"
        "django.setup()\n"
        "from django.apps import apps\n"
        f"print(apps.get_app_config('{module}').name)\n"
    )
    if package == "ublog-site":
        code = "import ublog_site.ctl; print('ublog_site')"
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == module
