"""The app authors' round trip: ublog-posts and ublog-accounts, published to a
real package index, installed from it alone into a new Django project wired
exactly as their READMEs say, work there.

What it proves, step by step (each failing step names the command and shows
its output):

1. A real index: pypiserver on a free loopback port, uploads refused without
   the user and password of an htpasswd file made here, no fallback to PyPI.
2. ``twine upload`` with those credentials of the sdists and wheels in
   dist/python and of the pinned, hash-checked wheels of every dependency
   (requirements/roundtrip.txt: CPython 3.12, manylinux x86_64, Django 5.2),
   fetched once into ``$CACHE_DIR/roundtrip/wheels`` (a warm cache needs no
   network).
3. ``pip install ublog-posts ublog-accounts`` into a fresh python3.12 venv,
   with no pip configuration and that index as the only source: every file
   comes from it, and the versions are those of dist/python.
4. ``django-admin startproject``, then the READMEs' "Installation" sections
   applied as written: their Python blocks (read with docutils) go into
   settings.py and urls.py, their ``manage.py`` commands are run. Nothing
   else is added to the project.
5. In that project, with Django's test client: a post with a JPEG carrying
   EXIF data is published, listed with a thumbnail under MEDIA_URL that has
   width and height and is served, and stored without EXIF; a visitor signs
   up, activates the account from the link in the mail written where the
   README's mail settings say, and logs in; both demo fixtures load; and
   with ``LANGUAGE_CODE = "de"`` the list is in German.

It prints how long the round trip and each step took.
"""

import ast
import base64
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import package_index
from support.digests import sha256
from support.package_index import Index, clean_env, http_get, http_status
from ublog_build import paths

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist" / "python"
REQUIREMENTS = ROOT / "requirements" / "roundtrip.txt"
# package -> its module
APPS = {"ublog-posts": "ublog_posts", "ublog-accounts": "ublog_accounts"}
# The interpreter and platform the dependency wheels are pinned for.
PYTHON_VERSION = "3.12"
PLATFORM = ["--implementation", "cp", "--abi", "cp312"] + [
    "--platform",
    "manylinux_2_28_x86_64",
]
PROJECT = "mysite"


class Timer:
    """Seconds taken by each step, printed as they end."""

    def __init__(self):
        self.start = self.last = time.monotonic()
        self.steps = []

    def lap(self, step):
        now = time.monotonic()
        self.steps.append((step, now - self.last))
        print(f"[round trip] {step}: {now - self.last:.1f} s", flush=True)
        self.last = now

    def report(self):
        total = time.monotonic() - self.start
        lines = [f"  {step}: {seconds:.1f} s" for step, seconds in self.steps]
        return f"round trip took {total:.1f} s\n" + "\n".join(lines), total


def run(command, what, *, timeout=600, **kwargs):
    """Run ``command``; on failure, fail the test with its whole output."""
    command = [str(part) for part in command]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, **kwargs
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(
            f"{what}: timed out after {timeout} s: {' '.join(command)}\n"
            f"--- stdout ---\n{error.stdout}\n--- stderr ---\n{error.stderr}",
            pytrace=False,
        )
    if result.returncode != 0:
        pytest.fail(
            f"{what}: exit status {result.returncode}: {' '.join(command)}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}",
            pytrace=False,
        )
    return result


def pinned_hashes():
    """{name==version: {sha256, ...}} of requirements/roundtrip.txt."""
    text = REQUIREMENTS.read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = line.split()[0]
            pins[requirement] = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
    return pins


def dependency_wheels():
    """The pinned dependency wheels, from the cache, downloaded once."""
    wheels = paths.cache_dir() / "roundtrip" / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    download = [sys.executable, "-m", "pip", "download", "--quiet"]
    download += ["--only-binary=:all:", "--require-hashes", "-r", REQUIREMENTS]
    download += ["--python-version", PYTHON_VERSION, *PLATFORM, "--dest", wheels]
    # A warm cache: pip checks the files against the hashes, offline.
    offline = subprocess.run(
        [*download, "--no-index", "--find-links", wheels],
        capture_output=True,
        env=clean_env(),
    )
    if offline.returncode != 0:
        keep = ("PIP_CACHE_DIR", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_INDEX_URL")
        run(download, "downloading the dependency wheels", env=clean_env(keep_pip=keep))
    by_hash = {sha256(path): path for path in wheels.glob("*.whl")}
    files = []
    for requirement, hashes in pinned_hashes().items():
        found = [by_hash[h] for h in hashes if h in by_hash]
        assert len(found) == 1, f"{requirement}: {len(found)} wheels in {wheels}"
        files += found
    return files


def our_dists():
    files = {}
    for package in APPS:
        name = package.replace("-", "_")
        wheels = sorted(DIST.glob(f"{name}-*-py3-none-any.whl"))
        sdists = sorted(DIST.glob(f"{name}-*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            pytest.fail(
                f"run `make python` first: {DIST} needs one wheel and one sdist "
                f"of {package}, has {[p.name for p in wheels + sdists]}",
                pytrace=False,
            )
        files[package] = (wheels[0], sdists[0])
    return files


@pytest.fixture
def index(tmp_path):
    """The index (started by the test, which times it), stopped at the end."""
    index = Index(tmp_path / "index")
    yield index
    index.stop()


# The READMEs' "Installation" sections ------------------------------------


def installation_blocks(readme):
    """The literal blocks of the README's "Installation" section, in order."""
    import docutils.core
    from docutils import nodes

    doctree = docutils.core.publish_doctree(
        readme.read_text(),
        source_path=str(readme),
        settings_overrides={"report_level": 4, "halt_level": 5},
    )
    for section in doctree.findall(nodes.section):
        if section[0].astext() == "Installation":
            return [block.astext() for block in section.findall(nodes.literal_block)]
    pytest.fail(f"{readme} has no Installation section", pytrace=False)


def is_console(block):
    lines = [line for line in block.splitlines() if line.strip()]
    return all(line.startswith("$ ") for line in lines)


def assigns(statement, name):
    targets = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AugAssign | ast.AnnAssign):
        targets = [statement.target]
    return any(isinstance(t, ast.Name) and t.id == name for t in targets)


def readme_code(readme):
    """(apps, settings code, URLconf code, console commands) of a README's
    Installation section: the apps its INSTALLED_APPS lists; a block that
    assigns ``urlpatterns`` is URLconf code, where ``urlpatterns = [...]``
    adds to the project's patterns; every other statement is taken as
    written."""
    settings_lines, urls_lines, commands, apps = [], [], [], []
    for block in installation_blocks(readme):
        if is_console(block):
            commands += [line[2:].split() for line in block.splitlines() if line]
            continue
        try:
            tree = ast.parse(block)
        except SyntaxError as error:
            pytest.fail(f"{readme}: not Python: {error}\n{block}", pytrace=False)
        is_urls = any(assigns(statement, "urlpatterns") for statement in tree.body)
        target = urls_lines if is_urls else settings_lines
        for statement in tree.body:
            source = ast.get_source_segment(block, statement)
            if assigns(statement, "INSTALLED_APPS"):
                apps += ast.literal_eval(statement.value)
            elif isinstance(statement, ast.Assign) and assigns(
                statement, "urlpatterns"
            ):
                value = ast.get_source_segment(block, statement.value)
                target.append(f"urlpatterns += {value}")
            else:
                target.append(source)
    return apps, settings_lines, urls_lines, commands


def installed_apps(settings_py):
    tree = ast.parse(settings_py.read_text())
    for statement in tree.body:
        if assigns(statement, "INSTALLED_APPS"):
            return ast.literal_eval(statement.value)
    pytest.fail(f"no INSTALLED_APPS in {settings_py}", pytrace=False)


def wire_project(project):
    """Apply both READMEs' Installation sections to the new project; return
    the commands they say to run."""
    settings_py = project / PROJECT / "settings.py"
    urls_py = project / PROJECT / "urls.py"
    commands = []
    for package, module in APPS.items():
        readme = ROOT / "packages" / package / "README.rst"
        apps, settings_lines, urls_lines, readme_commands = readme_code(readme)
        where = f"{readme.relative_to(ROOT)}, Installation"
        assert module in apps, f"{where}: INSTALLED_APPS does not add {module}"
        assert any(f'include("{module}.urls")' in line for line in urls_lines), (
            f"{where}: no urlpatterns including {module}.urls"
        )
        installs = [c for c in readme_commands if c[:3] == ["python", "-m", "pip"]]
        assert installs == [["python", "-m", "pip", "install", package]], (
            f"{where}: installs {installs}, not {package}"
        )
        missing = [app for app in apps if app not in installed_apps(settings_py)]
        header = f"\n\n# {where}:\n"
        settings_code = [f"INSTALLED_APPS += {missing!r}"] if missing else []
        with settings_py.open("a") as settings:
            settings.write(header + "\n".join(settings_code + settings_lines) + "\n")
        with urls_py.open("a") as urls:
            urls.write(header + "\n".join(urls_lines) + "\n")
        for command in readme_commands:
            if command[:2] == ["python", "manage.py"]:
                commands.append(command)
            else:
                assert command in installs, f"{where}: what runs {command}?"
    return commands


# What runs inside the new project ----------------------------------------

SITE_CHECK = r'''
"""Post with an image, sign up, activate from the mail, log in."""
import email
import email.policy
import io
import json
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import Resolver404, resolve, reverse  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

import ublog_accounts  # noqa: E402
import ublog_posts  # noqa: E402
from ublog_posts.models import Post  # noqa: E402

MAKE = "RoundTripCam"
TEXT = "Round trip: a post with a photograph, from a real index."
ALT = "An orange rectangle with a blue disc."
USERNAME, ADDRESS = "roundtrip", "roundtrip@example.com"
PASSWORD = "c0rrect-h0rse-b4ttery"


def check(condition, message):
    if not condition:
        sys.exit(f"ROUND TRIP CHECK FAILED: {message}")


def page(response):
    return response.content.decode(errors="replace")[:4000]


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


venv = Path(sys.prefix).resolve()
for module in (django, ublog_posts, ublog_accounts):
    check(
        Path(module.__file__).resolve().is_relative_to(venv),
        f"{module.__name__} imported from {module.__file__}, not from {venv}",
    )

# DEBUG allows localhost without ALLOWED_HOSTS: no setting added for the test.
client = Client(SERVER_NAME="localhost")

# A post with a JPEG that carries EXIF data (a camera make).
picture = Image.new("RGB", (1600, 1200), (240, 120, 30))
ImageDraw.Draw(picture).ellipse((500, 300, 1100, 900), fill=(30, 60, 200))
exif = Image.Exif()
exif[0x010F] = MAKE  # Make
exif[0x0110] = "Model 1"  # Model
upload = io.BytesIO()
picture.save(upload, "JPEG", exif=exif, quality=90)
check(MAKE.encode() in upload.getvalue(), "the test JPEG lacks its EXIF data")
create = reverse("ublog_posts:create")
response = client.get(create)
check(response.status_code == 200, f"GET {create}: {response.status_code}")
response = client.post(
    create,
    {
        "text": TEXT,
        "image": SimpleUploadedFile("photo.jpg", upload.getvalue(), "image/jpeg"),
        "image_alt": ALT,
    },
)
check(
    response.status_code == 302,
    f"POST {create}: {response.status_code}, not a redirect:\n{page(response)}",
)
post = Post.objects.get(text=TEXT)

listing = reverse("ublog_posts:list")
response = client.get(listing)
check(response.status_code == 200, f"GET {listing}: {response.status_code}")
html = response.content.decode()
check(TEXT in html, f"the post is not on the list page:\n{html[:4000]}")
parser = Images()
parser.feed(html)
thumbnails = [img for img in parser.images if img.get("alt") == ALT]
check(len(thumbnails) == 1, f"no image described {ALT!r} in the list: {parser.images}")
thumbnail = thumbnails[0]
check(
    thumbnail.get("src", "").startswith(settings.MEDIA_URL),
    f"thumbnail {thumbnail} not under MEDIA_URL {settings.MEDIA_URL}",
)
check(
    thumbnail.get("width", "").isdigit() and thumbnail.get("height", "").isdigit(),
    f"thumbnail without width and height: {thumbnail}",
)
response = client.get(thumbnail["src"])
check(
    response.status_code == 200,
    f"GET {thumbnail['src']}: {response.status_code}: the media are not served",
)
served = Image.open(io.BytesIO(b"".join(response.streaming_content)))
check(
    served.size == (int(thumbnail["width"]), int(thumbnail["height"])),
    f"thumbnail is {served.size}, the page says {thumbnail}",
)

# What is stored has no EXIF (the upload is re-encoded).
media_root = Path(settings.MEDIA_ROOT).resolve()
for field in (post.image, post.thumbnail):
    path = Path(field.path).resolve()
    check(path.is_relative_to(media_root), f"{path} is not under {media_root}")
    data = path.read_bytes()
    stored = Image.open(io.BytesIO(data))
    check(
        not stored.getexif()
        and "exif" not in stored.info
        and MAKE.encode() not in data,
        f"{path} still carries EXIF data: {dict(stored.getexif())}",
    )

# Sign up; the activation mail lands where the README's settings say.
backend = settings.EMAIL_BACKEND
check(
    backend == "django.core.mail.backends.filebased.EmailBackend",
    f"EMAIL_BACKEND is {backend}: the README should keep development mail in files",
)
mail_dir = Path(settings.EMAIL_FILE_PATH)
signup = reverse("ublog_accounts:signup")
response = client.post(
    signup,
    {
        "username": USERNAME,
        "email": ADDRESS,
        "password1": PASSWORD,
        "password2": PASSWORD,
    },
)
check(
    response.status_code == 302,
    f"POST {signup}: {response.status_code}, not a redirect:\n{page(response)}",
)
user = get_user_model().objects.get(username=USERNAME)
check(not user.is_active, "the new account is active before its activation")
messages = []
for path in sorted(mail_dir.glob("*")):
    for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
        if raw.strip():
            messages.append(email.message_from_bytes(raw, policy=email.policy.default))
to_user = [m for m in messages if ADDRESS in str(m["To"])]
check(len(to_user) == 1, f"{len(to_user)} mails to {ADDRESS} in {mail_dir}")
body = to_user[0].get_body(("plain",)).get_content()
links = []
for word in body.split():
    url = urlsplit(word)
    if url.scheme in ("http", "https"):
        try:
            if resolve(url.path).view_name == "ublog_accounts:activate":
                links.append(url)
        except Resolver404:
            pass
check(len(links) == 1, f"no activation link in the mail:\n{body}")
link = links[0]
check(link.hostname == "localhost", f"activation link to another host: {link}")
response = client.get(link.path)
check(response.status_code == 200, f"GET {link.path}: {response.status_code}")
check(not get_user_model().objects.get(pk=user.pk).is_active, "activated on GET")
response = client.post(link.path)
check(
    response.status_code == 302,
    f"POST {link.path}: {response.status_code}, not a redirect:\n{page(response)}",
)
check(get_user_model().objects.get(pk=user.pk).is_active, "not activated")

login = reverse("ublog_accounts:login")
response = client.post(login, {"username": USERNAME, "password": PASSWORD})
check(
    response.status_code == 302 and response.url == settings.LOGIN_REDIRECT_URL,
    f"POST {login}: {response.status_code} {response.get('Location')}:\n"
    + page(response),
)
check(
    client.session.get("_auth_user_id") == str(user.pk), "not logged in after login"
)
response = client.get(listing)
check(response.status_code == 200, f"GET {listing} logged in: {response.status_code}")

print(json.dumps({"post": post.pk, "thumbnail": thumbnail, "activation": link.path}))
'''

GERMAN_CHECK = r"""
import django

django.setup()

from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

response = Client(SERVER_NAME="localhost").get(reverse("ublog_posts:list"))
html = response.content.decode()
assert response.status_code == 200, response.status_code
assert 'lang="de"' in html, html[:2000]
assert "Beiträge" in html or "Neuer Beitrag" in html, html[:4000]
print("German list page: ok")
"""


def installed_versions(python, env):
    code = (
        "import importlib.metadata as m, json, sys\n"
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))\n"
    )
    output = run([python, "-c", code, *APPS], "reading the versions", env=env)
    return json.loads(output.stdout)


def test_apps_round_trip_through_a_package_index(
    index, tmp_path, capsys, record_property
):
    timer = Timer()
    dists = our_dists()
    python312 = shutil.which(f"python{PYTHON_VERSION}")
    if python312 is None:
        pytest.fail(f"no python{PYTHON_VERSION} on PATH: install it with pyenv")

    # 1. The index answers and refuses uploads without the right password.
    index.start()
    status = http_status(f"{index.url}/", method="POST", data=b"")
    assert status == 401, f"pypiserver took an anonymous upload: {status}"
    wrong = base64.b64encode(f"{package_index.USER}:not-the-password".encode()).decode()
    status = http_status(
        f"{index.url}/", "POST", b"", {"Authorization": f"Basic {wrong}"}
    )
    assert status in (401, 403), f"pypiserver took a wrong password: {status}"
    timer.lap("index started")

    # 2. Upload our dists and every dependency wheel.
    dependencies = dependency_wheels()
    timer.lap("dependency wheels ready")
    files = [path for pair in dists.values() for path in pair] + dependencies
    upload = [sys.executable, "-m", "twine", "upload", "--non-interactive"]
    upload += ["--disable-progress-bar", "--repository-url", f"{index.url}/"]
    upload += ["--username", package_index.USER, "--password", index.password, *files]
    twine_env = {
        key: value
        for key, value in clean_env(loopback_only=True).items()
        if not key.startswith("TWINE_")
    }
    run(upload, "twine upload to the loopback index", env=twine_env)
    uploaded = {path.name: sha256(path) for path in index.packages.iterdir()}
    assert uploaded == {path.name: sha256(path) for path in files}, (
        f"the index holds {sorted(uploaded)}"
    )
    timer.lap("uploaded")

    # 3. Install from that index alone into a fresh venv.
    venv = tmp_path / "venv"
    run([python312, "-m", "venv", venv], "python3.12 -m venv")
    python = venv / "bin" / "python"
    simple = f"{index.url}/simple/"
    pip_env = clean_env(loopback_only=True)
    install = run(
        [python, "-m", "pip", "install", "--no-cache-dir", "--index-url", simple]
        + list(APPS),
        "pip install from the loopback index",
        env=pip_env,
    )
    log = install.stdout + install.stderr
    assert f"Looking in indexes: {simple}" in log, log
    downloads = re.findall(r"Downloading (\S+)", log)
    expected = sorted(
        f"{index.url}/packages/{path.name}"
        for path in [wheel for wheel, _ in dists.values()] + dependencies
    )
    assert sorted(downloads) == expected, f"pip downloaded {downloads}:\n{log}"
    versions = installed_versions(python, pip_env)
    for package, (wheel, _) in dists.items():
        assert versions[package] == wheel.name.split("-")[1], (package, versions)
        # The index serves exactly our wheel (pip checked it against this hash).
        _, page = http_get(f"{simple}{package}/")
        assert f"{wheel.name}#sha256={sha256(wheel)}" in page.decode(), page
    timer.lap("installed from the index")

    # 4. A new project, wired as the READMEs say.
    run(
        [venv / "bin" / "django-admin", "startproject", PROJECT],
        "startproject",
        cwd=tmp_path,
        env=pip_env,
    )
    project = tmp_path / PROJECT
    commands = wire_project(project)
    manage = [python, "manage.py"]
    django_env = clean_env(
        loopback_only=True, DJANGO_SETTINGS_MODULE=f"{PROJECT}.settings"
    )
    run([*manage, "check"], "manage.py check", cwd=project, env=django_env)
    assert ["python", "manage.py", "migrate"] in commands, commands
    for command in commands:
        run([python, *command[1:]], " ".join(command), cwd=project, env=django_env)
    for fixture in ("ublog_posts_demo", "ublog_accounts_demo"):
        if ["python", "manage.py", "loaddata", fixture] not in commands:
            run(
                [*manage, "loaddata", fixture],
                f"loaddata {fixture}",
                cwd=project,
                env=django_env,
            )
    run([*manage, "migrate", "--check"], "migrate --check", cwd=project, env=django_env)
    timer.lap("project wired and migrated")

    # 5. Use it.
    script = project / "site_check.py"
    script.write_text(SITE_CHECK)
    result = run([python, script], "the site check", cwd=project, env=django_env)
    print(result.stdout)
    settings_de = project / PROJECT / "settings_de.py"
    settings_de.write_text(
        'from .settings import *  # noqa: F403\n\nLANGUAGE_CODE = "de"\n'
    )
    script = project / "german_check.py"
    script.write_text(GERMAN_CHECK)
    german_env = dict(django_env, DJANGO_SETTINGS_MODULE=f"{PROJECT}.settings_de")
    run([python, script], "the German list page", cwd=project, env=german_env)
    timer.lap("site used")

    report, total = timer.report()
    record_property("round_trip_seconds", round(total, 1))
    with capsys.disabled():
        print(f"\n{report}")
