"""The per-app Debian packages, next to Debian's own Django, on the first
release whose python3-django they accept (``ublog_build.app_debs.release``).

``python3-ublog-posts`` and ``python3-ublog-accounts`` (``make app-debs``,
into dist/debian-apps/) are installed with apt in a fresh debootstrapped
root of that release (a chroot; the Debian mirror is its only source), which
pulls Debian's python3-django through their Depends. There a throwaway
project made with ``django-admin startproject`` lists both apps, passes
``check`` and ``makemigrations --check`` (the shipped migrations are
complete for that Django) and runs a small test suite through both apps'
views: anonymous post, like, owner-only edit; sign-up, e-mailed activation
link, activation on POST, login, logout on POST only; both in German, from
the catalogs debian/rules compiled.

The host release's older python3-django does not satisfy the Depends: shown
too.
"""

import os
import re
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from support.figures import report
from ublog_build import app_debs, chroot, releases
from ublog_build.errors import BuildError
from ublog_build.paths import DIST

DEB_DIR = DIST / "debian-apps"
DEBS_CACHE = app_debs.cache() / "debs"
APPS = ("python3-ublog-posts", "python3-ublog-accounts")
#: The release the apps are installed on.
RELEASE = app_debs.release()

SETTINGS = """
# -- added by the ublog test: the two apps from their Debian packages ---------
INSTALLED_APPS += ["ublog_posts", "ublog_accounts"]
LOGIN_URL = "ublog_accounts:login"
LOGIN_REDIRECT_URL = "/"
ALLOWED_HOSTS = ["testserver"]
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "/media/"
DEFAULT_FROM_EMAIL = "throwaway <noreply@example.com>"
"""

URLS = """
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("ublog_accounts.urls")),
    path("", include("ublog_posts.urls")),
]
"""

TESTS = '''
"""A small suite through both apps, on Debian's Django."""

import re

import django
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import TestCase
from django.urls import reverse
from django.utils import translation
from ublog_posts.models import Like, Post


class PostsTests(TestCase):
    def test_anonymous_post_shows_on_the_list(self):
        response = self.client.post(reverse("ublog_posts:create"), {"text": "hi deb"})
        self.assertEqual(response.status_code, 302)
        post = Post.objects.get()
        self.assertIsNone(post.owner)
        self.assertContains(self.client.get(reverse("ublog_posts:list")), "hi deb")
        self.assertContains(self.client.get("/?q=deb"), "hi deb")

    def test_like_needs_login_and_toggles(self):
        post = Post.objects.create(text="like me")
        url = reverse("ublog_posts:like", args=[post.pk])
        self.assertEqual(self.client.post(url).status_code, 302)
        user = get_user_model().objects.create_user("ann", password="pw-12345678")
        self.client.force_login(user)
        self.client.post(url)
        self.assertEqual(Like.objects.filter(post=post, user=user).count(), 1)
        self.client.post(url)
        self.assertEqual(Like.objects.count(), 0)

    def test_only_the_owner_edits(self):
        User = get_user_model()
        owner = User.objects.create_user("own", password="pw-12345678")
        other = User.objects.create_user("oth", password="pw-12345678")
        post = Post.objects.create(text="mine", owner=owner)
        self.client.force_login(other)
        url = reverse("ublog_posts:edit", args=[post.pk])
        self.assertEqual(self.client.post(url, {"text": "x"}).status_code, 403)
        self.client.force_login(owner)
        self.assertEqual(self.client.post(url, {"text": "edited"}).status_code, 302)
        post.refresh_from_db()
        self.assertEqual(post.text, "edited")


class AccountsTests(TestCase):
    def test_signup_activation_login_logout(self):
        response = self.client.post(
            reverse("ublog_accounts:signup"),
            {"username": "carol", "email": "carol@example.com",
             "password1": "Un-guessable-42", "password2": "Un-guessable-42"},
        )
        self.assertEqual(response.status_code, 302)
        user = get_user_model().objects.get(username="carol")
        self.assertFalse(user.is_active)
        self.assertEqual(len(mail.outbox), 1)
        body = mail.outbox[0].body
        link = re.search(r"http://testserver(/accounts/activate/\\S+/)", body)
        self.assertTrue(link, body)
        self.assertEqual(self.client.get(link[1]).status_code, 200)
        user.refresh_from_db()
        self.assertFalse(user.is_active)  # GET (a mail scanner) activates nothing
        self.client.post(link[1])
        user.refresh_from_db()
        self.assertTrue(user.is_active)
        self.assertTrue(self.client.login(username="carol", password="Un-guessable-42"))
        logout = reverse("ublog_accounts:logout")
        self.assertEqual(self.client.get(logout).status_code, 405)
        self.assertEqual(self.client.post(logout).status_code, 302)

    def test_german_from_the_compiled_catalogs(self):
        """debian/rules compiled the .po files the wheel carries."""
        with self.settings(LANGUAGE_CODE="de"), translation.override("de"):
            self.assertContains(self.client.get("/"), "Neuer Beitrag")
            self.assertContains(self.client.get(reverse("ublog_accounts:signup")),
                                "<h1>Registrieren</h1>")

    def test_running_on_debians_django(self):
        self.assertEqual(django.VERSION[:2], DJANGO)
        self.assertTrue(django.__file__.startswith("/usr/lib/python3/dist-packages/"))
'''


def sh(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def debs() -> list[Path]:
    found = [sorted(DEB_DIR.glob(f"{app}_*_all.deb")) for app in APPS]
    if not all(len(f) == 1 for f in found):
        pytest.fail(f"no per-app .debs in {DEB_DIR}: run `make app-debs`")
    return [f[0] for f in found]


@pytest.fixture
def app_root(tmp_path):
    """A fresh minbase root of the apps' release, from the cached tarball."""
    if os.geteuid() != 0:
        pytest.fail("must run as root (chroot)")
    try:
        tarball = app_debs.minbase()
    except BuildError as e:
        pytest.fail(f"the minbase tarball of {RELEASE.label}: {e}")
    root = tmp_path / RELEASE.codename
    root.mkdir()
    sh(["tar", "--numeric-owner", "-C", str(root), "-xf", str(tarball)],
       check=True)  # fmt: skip
    try:
        yield root
    finally:
        for line in reversed(Path("/proc/self/mountinfo").read_text().splitlines()):
            point = line.split()[4]
            if point.startswith(str(root)):
                sh(["umount", "-l", point])
        sh(["rm", "-rf", "--one-file-system", str(root)])


def in_root(root: Path, cmd: str, check=True, timeout=900):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}  # fmt: skip
    result = sh(["chroot", str(root), "/bin/sh", "-c", cmd], env=env, timeout=timeout)
    if check and result.returncode:
        pytest.fail(f"in {RELEASE.codename}: {cmd!r} failed:\n{result.stdout[-3000:]}"
                    f"\n{result.stderr[-3000:]}")  # fmt: skip
    return result


def test_depends_name_debians_django_4_2_or_later(debs):
    for deb in debs:
        fields = sh(["dpkg-deb", "-f", str(deb), "Architecture", "Depends"]).stdout
        assert "Architecture: all" in fields
        assert "python3-django (>= 3:4.2)" in fields, fields
        assert "python3-django (<< 3:6.2~)" in fields, fields
        assert "python3:any" in fields or "python3 " in fields, fields
    # This host's release has an older Django: the Depends refuse it.
    host = releases.host()
    policy = sh(["apt-cache", "policy", "python3-django"]).stdout
    candidate = re.search(r"Candidate: (\S+)", policy)
    assert candidate and candidate[1].startswith(f"3:{host.django}"), policy
    older = ["dpkg", "--compare-versions", candidate[1], "lt", f"3:{RELEASE.django}"]
    assert sh(older).returncode == 0


def test_per_app_debs_install_next_to_debians_django(debs, app_root):
    root = app_root
    (root / "etc" / "resolv.conf").write_text(Path("/etc/resolv.conf").read_text())
    (root / "etc" / "apt" / "sources.list").write_text(chroot.sources_list(RELEASE))
    archives = root / "var" / "cache" / "apt" / "archives"
    DEBS_CACHE.mkdir(parents=True, exist_ok=True)
    for cached in DEBS_CACHE.glob("*.deb"):  # downloads of earlier runs
        os.link(cached, archives / cached.name)
    for deb in debs:
        (root / "tmp" / deb.name).write_bytes(deb.read_bytes())
    assert in_root(root, "dpkg -s python3-django", check=False).returncode != 0

    in_root(root, "apt-get update -qq")
    started = time.monotonic()
    names = " ".join(f"/tmp/{deb.name}" for deb in debs)
    in_root(root, f"apt-get install -y -q --no-install-recommends {names}")
    report(f"apt-get install of the two app .debs on {RELEASE.codename}",
           f"{time.monotonic() - started:.1f} s")  # fmt: skip
    for new in archives.glob("*.deb"):
        if not (DEBS_CACHE / new.name).exists():
            os.link(new, DEBS_CACHE / new.name)

    version = in_root(root, "dpkg-query -W -f '${Version}' python3-django").stdout
    report("python3-django pulled in by the Depends", version)
    assert version.startswith(f"3:{RELEASE.django}"), version
    policy = in_root(root, "apt-cache policy python3-django").stdout
    assert re.search(
        rf"\*\*\* \S+ \d+\n\s+\d+ http://\S+ {RELEASE.codename}(-security)?",
        policy,
    ), policy
    where = in_root(
        root,
        "python3 -c 'import ublog_posts, ublog_accounts; "
        "print(ublog_posts.__file__, ublog_accounts.__file__)'",
    ).stdout
    assert where.count("/usr/lib/python3/dist-packages/ublog_") == 2, where

    # A throwaway project that is not ublog-site.
    in_root(root, "cd /srv && django-admin startproject throwaway")
    project = root / "srv" / "throwaway"
    settings = project / "throwaway" / "settings.py"
    settings.write_text(settings.read_text() + SETTINGS)
    (project / "throwaway" / "urls.py").write_text(URLS)
    django = tuple(int(n) for n in RELEASE.django.split("."))
    tests = TESTS.replace(
        "import django\n", f"import django\n\nDJANGO = {django!r}\n", 1
    )
    (project / "throwaway" / "tests.py").write_text(textwrap.dedent(tests))
    manage = "cd /srv/throwaway && python3 manage.py"
    check = in_root(root, f"{manage} check")
    assert "no issues" in check.stdout, check.stdout + check.stderr
    in_root(
        root, f"{manage} makemigrations --check --dry-run ublog_posts ublog_accounts"
    )
    tests = in_root(root, f"{manage} test -v 2", check=False)
    out = tests.stdout + tests.stderr
    assert tests.returncode == 0, out[-5000:]
    ran = re.search(r"Ran (\d+) tests?", out)
    assert ran and int(ran[1]) == 6 and "\nOK" in out, out[-3000:]
    report("throwaway project tests on Debian's Django", f"{ran[1]} passed")
