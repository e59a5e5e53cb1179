"""The installed site as its visitors use it, over HTTP from the host.

* :func:`wait_for_200`: the site's first 200 (nginx's own welcome page,
  served until the deferred setup reloads nginx, does not count);
* :func:`login`, :func:`new_post` (a multipart form, with an image or
  not), :func:`publish` (the same, returning the new post's id) and
  :func:`like`: what a visitor does, each with the CSRF token Django wants;
* :func:`image_src`: the first uploaded image a page shows;
* :func:`configured`: the site running with some settings changed.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager

from support.httpclient import HttpSession, Response

MEDIA_IMAGE = r'src="(/media/ublog_posts/[^"]+\.png)"'

#: The password of the users the tests create in an installed site.
PASSWORD = "correct horse battery 9"


def wait_for_200(
    target, path: str = "/", timeout: float = 60, headers: dict | None = None
) -> Response:
    """The first 200 of the site from ``target`` (a testbed or a session),
    or the last answer when ``timeout`` seconds pass first. A refused
    connection (a server still starting) is tried again."""
    web = target.session() if hasattr(target, "session") else target
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = web.get(path, headers=headers)
        except OSError:
            if time.monotonic() > deadline:
                raise
        else:
            ours = response.status == 200 and b"Welcome to nginx!" not in response.body
            if ours or time.monotonic() > deadline:
                return response
        time.sleep(0.2)


def create_superuser(tb, username: str, password: str = PASSWORD) -> None:
    """``ublog-ctl createsuperuser`` in the testbed (mail at example.org)."""
    tb.run(
        ["ublog-ctl", "createsuperuser", "--no-input", "--username", username]
        + ["--email", f"{username}@example.org"],
        env={"DJANGO_SUPERUSER_PASSWORD": password},
    )


def login(web: HttpSession, username: str, password: str) -> Response:
    """Log in through the form; the answer is the redirect to the next page."""
    web.get("/accounts/login/")
    done = web.post_form(
        "/accounts/login/",
        {"username": username, "password": password},
        follow=False,
    )
    assert done.status == 302, done.text[:1000]
    return done


#: The description (alt text) the tests give every image they post.
IMAGE_ALT = "A picture a test posted"


def new_post(
    web: HttpSession, text: str, image: bytes | None = None, filename: str = "p.png"
) -> Response:
    """Submit the new-post form (with a PNG and its description when
    ``image`` is given)."""
    web.get("/new/")  # the form, and the CSRF cookie
    files = {"image": (filename, image, "image/png")} if image is not None else {}
    return web.post_multipart("/new/", {"text": text, "image_alt": IMAGE_ALT}, files)


def publish(
    web: HttpSession, text: str, image: bytes | None = None, filename: str = "p.png"
) -> int:
    """:func:`new_post`, which must succeed: the new post's id."""
    response = new_post(web, text, image, filename)
    assert response.status == 302, response.text[:1000]
    return int(re.search(r"/(\d+)/$", response.headers["Location"])[1])


def like(web: HttpSession, pk: int) -> dict:
    """Like (or unlike) a post as the logged-in ``web``, as the page's
    script does: the answer is ``{"liked": bool, "count": int}``."""
    if not web.cookie("csrftoken"):
        web.get(f"/{pk}/")
    liked = web.post_form(f"/{pk}/like/", {}, headers={"Accept": "application/json"})
    assert liked.status == 200, liked.text[:1000]
    return liked.json()


def image_src(page: str) -> str | None:
    """The path of the first uploaded image ``page`` shows."""
    found = re.search(MEDIA_IMAGE, page)
    return found[1] if found else None


#: The installed site's configuration file.
CONF = "/etc/ublog/ublog.conf"


def with_settings(conf: str, settings: dict[str, dict[str, str]]) -> str:
    """``conf`` with ``settings`` (``{section: {key: value}}``) set: a key
    the section sets already gets the new value in place, another goes
    right below the section's header (a section ``conf`` lacks goes at the
    end)."""
    lines = conf.splitlines()
    for section, values in settings.items():
        header = f"[{section}]"
        if header not in lines:
            lines += ["", header]
        start = lines.index(header) + 1
        end = next(
            (i for i in range(start, len(lines)) if lines[i].startswith("[")),
            len(lines),
        )
        for key, value in values.items():
            line = f"{key} = {value}"
            found = [
                i
                for i in range(start, end)
                if re.match(rf"{re.escape(key)}\s*=", lines[i])
            ]
            if found:
                lines[found[0]] = line
            else:
                lines.insert(start, line)
                end += 1
    return "\n".join(lines) + "\n"


def configure(tb, settings: dict[str, dict[str, str]]) -> str:
    """Add ``settings`` to the configuration of the site installed in ``tb``
    and apply them (``ublog-ctl setup``: nginx's limits too); the
    configuration before."""
    before = tb.run(["cat", CONF]).stdout
    tb.run(["sh", "-c", f"cat > {CONF}"], input=with_settings(before, settings))
    tb.run(["ublog-ctl", "setup"])
    assert wait_for_200(tb).status == 200
    return before


@contextmanager
def configured(tb, settings: dict[str, dict[str, str]]):
    """The installed site of ``tb`` running with ``settings`` added to its
    configuration, and running as before afterwards."""
    before = configure(tb, settings)
    try:
        yield tb
    finally:
        tb.run(["sh", "-c", f"cat > {CONF}"], input=before)
        tb.run(["ublog-ctl", "setup"])
        assert wait_for_200(tb).status == 200
