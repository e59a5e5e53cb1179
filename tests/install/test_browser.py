"""A person's visit, in a real browser, to the site installed from the .deb.

The .deb is installed with apt in a booted Debian of the oldest release
(systemd-nspawn, its own network namespace, as in test_deb). The site's mail
goes to an SMTP sink this test runs on the host end of the veth: queued by
the sign-up, delivered by ublog-mailer.service. Debian's Chromium (headless,
driven by Playwright, never a browser Playwright downloads) runs on the host
and talks to the container's address: it signs up, activates the account
from the link in the mail (the GET shows a form, the click POSTs it), logs
in, publishes a post with a real PNG, sees the image, likes the post without
a page load, edits it, deletes it, logs out; then an anonymous visitor
publishes a post.

Screenshots of the list page go to dist/screenshots/ on every run.
"""

import re
import shutil
import time
import uuid
from pathlib import Path

import pytest
from support import axe
from support.db import psql
from support.figures import report
from support.images import gradient_png
from support.localrepo import install_ublog
from support.site import IMAGE_ALT, wait_for_200
from support.smtp_sink import SmtpSink
from support.testbed import Testbed
from ublog_build.paths import DIST

SCREENSHOTS = DIST / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",  # straight to the testbed, whatever the environment says
]
PASSWORD = "correct horse battery staple 42"


def sync_playwright():
    """Playwright's sync API; its absence fails the test (never a skip)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        pytest.fail(
            f"Playwright is not installed ({e}): pip install -r "
            "requirements/browser.txt into the tool venv (make does it)"
        )
    if not CHROMIUM.is_file():
        pytest.fail(f"no {CHROMIUM}: apt-get install chromium (scripts/install-deps)")
    return sync_playwright()


def send_mail_to(tb, sink):
    """Point the site's [email] at the sink and restart the services."""
    conf = "/etc/ublog/ublog.conf"
    tb.run(
        ["sed", "-i", rf"/^\[email\]$/a host = {sink.host}\nport = {sink.port}", conf]
    )
    mode = tb.run(["stat", "-c", "%a %U %G", conf]).stdout.split()
    assert mode == ["640", "root", "ublog"], mode
    shown = tb.run(["ublog-ctl", "showconfig"]).stdout
    assert f"host = {sink.host}\nport = {sink.port}\n" in shown, shown
    # The mail sender delivers with the new [email]; gunicorn never mails.
    tb.run(["systemctl", "restart", "ublog.service", "ublog-mailer.service"])
    assert wait_for_200(tb).status == 200


class PageWatch:
    """Collects what a page did wrong: script errors, failed or 4xx/5xx loads,
    and counts main-frame navigations (a like must not cause one)."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.navigations = 0
        self.favicon_missing = False
        page.on("pageerror", lambda exc: self.errors.append(f"script: {exc}"))
        page.on("console", self._console)
        page.on(
            "requestfailed",
            lambda r: self.errors.append(f"failed: {r.url} {r.failure}"),
        )
        page.on(
            "response",
            lambda r: (
                r.status >= 400
                and not r.url.endswith("/favicon.ico")
                and self.errors.append(f"{r.status}: {r.url}")
            ),
        )
        page.on("framenavigated", self._navigated)

    def _console(self, message):
        if message.type != "error":
            return
        # Over plain HTTP to an address other than localhost, Chromium ignores
        # (and says so) Django's Cross-Origin-Opener-Policy header: expected
        # for the packaged HTTP-only configuration.
        if "Cross-Origin-Opener-Policy" in message.text:
            return
        # Chromium asks for /favicon.ico by itself; the site has none (yet).
        url = message.location.get("url", "")
        if url.endswith("/favicon.ico"):
            self.favicon_missing = True
            return
        self.errors.append(f"console: {message.text} ({url})")

    def _navigated(self, frame):
        if frame == self.page.main_frame:
            self.navigations += 1


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    return path


def test_a_person_signs_up_posts_likes_edits_deletes_in_chromium(
    ublog_root,
    release_deb,
    bed_args,
    tmp_path,
):
    started = time.monotonic()
    tag = uuid.uuid4().hex[:8]
    username, address = f"ann{tag}", f"ann.{tag}@example.org"
    image = tmp_path / f"sunset-{tag}.png"
    image.write_bytes(gradient_png())
    profile = tmp_path / "chromium-profile"  # a fresh --user-data-dir

    with (
        Testbed(tarball=ublog_root, **bed_args) as tb,
        SmtpSink(tb.host_address) as sink,
        sync_playwright() as pw,
    ):
        install_ublog(tb, release_deb())
        assert wait_for_200(tb).status == 200
        send_mail_to(tb, sink)
        report("install + mail setup", f"{time.monotonic() - started:.1f} s")

        browser = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1000, "height": 800},
            base_url=tb.url,
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            watch = PageWatch(page)
            visit(page, watch, tb, sink, username, address, image)
        finally:
            browser.close()
            shutil.rmtree(profile, ignore_errors=True)
        assert not watch.errors, watch.errors
    if watch.favicon_missing:
        report("note", "the site has no /favicon.ico (404 in every browser visit)")
    report("browser test", f"{time.monotonic() - started:.1f} s")


def visit(page, watch, tb, sink, username, address, image):
    """The journey; axe checks each kind of page on the way (``minor`` keeps
    the violations below serious, for the figures)."""
    minor = []
    # --- sign up ------------------------------------------------------------
    page.goto("/")
    assert page.title() == "Posts"
    minor += axe.check(page, "the list, empty")
    page.get_by_role("link", name="Sign up").click()
    minor += axe.check(page, "sign-up")
    page.fill("#id_username", username)
    page.fill("#id_email", address)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/accounts/signup/done/")
    assert page.locator("h1").inner_text() == "Check your e-mail"
    is_active = f"SELECT is_active FROM auth_user WHERE username = '{username}'"
    assert psql(tb, is_active, "ublog") == "f"

    # --- the activation mail, from the site through real SMTP ----------------
    mail = sink.wait_for(lambda m: address in str(m["To"]))
    assert "Activate your account" in str(mail["Subject"])
    body = mail.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/accounts/activate/\S+/", body)
    assert link, body
    assert link[0].startswith(f"{tb.url}/accounts/activate/"), link[0]

    # The GET only shows a form (mail scanners follow links)...
    page.goto(link[0])
    assert page.locator("h1").inner_text() == "Activate your account"
    minor += axe.check(page, "activation")
    assert username in page.locator("main").inner_text()
    assert psql(tb, is_active, "ublog") == "f"
    # ... the click activates.
    page.get_by_role("button", name="Activate my account").click()
    page.wait_for_url("**/accounts/activate/complete/")
    assert page.locator("h1").inner_text() == "Account activated"
    assert psql(tb, is_active, "ublog") == "t"

    # --- log in -------------------------------------------------------------
    page.get_by_role("link", name="Log in").first.click()
    minor += axe.check(page, "log-in")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{tb.url}/")
    assert page.locator(".site-user").inner_text() == username

    # --- publish a post with an image -------------------------------------
    text = f"A sunset over the veth, seen from the browser {username}"
    page.get_by_role("link", name="New post").first.click()
    assert page.locator("h1").inner_text() == "New post"
    page.set_input_files("#id_image", str(image))
    page.get_by_role("button", name="Post").click()  # no text, no description
    assert page.locator(".ublog-errors").count() == 2
    minor += axe.check(page, "the post form with errors")
    page.fill("#id_text", text)
    page.set_input_files("#id_image", str(image))
    page.fill("#id_image_alt", IMAGE_ALT)
    page.get_by_role("button", name="Post").click()
    page.wait_for_url(re.compile(r"/\d+/$"))
    post_id = int(re.search(r"/(\d+)/$", page.url)[1])
    post = page.locator(f"#post-{post_id}")
    assert text in post.locator(".ublog-post-text").inner_text()
    assert post.locator(".ublog-post-owner").inner_text() == username
    minor += axe.check(page, "a post")

    # The image is shown: served by nginx, decoded by the browser.
    img = post.locator(".ublog-post-image img")
    img.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth", arg=img.element_handle()
    )
    assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [240, 135]
    src = img.get_attribute("src")
    assert src.startswith("/media/ublog_posts/") and src.endswith(".png"), src
    assert img.get_attribute("alt") == IMAGE_ALT
    served = tb.http(src)
    assert served.status == 200 and served.body.startswith(b"\x89PNG")
    assert served.body != image.read_bytes(), "the upload itself is served"

    # --- like it, without a page load -----------------------------------------
    page.goto("/")
    post = page.locator(f"#post-{post_id}")
    assert post.locator(".ublog-post-image img").is_visible()
    minor += axe.check(page, "the list")
    count = post.locator(".ublog-like-count")
    button = post.locator(".ublog-like-button")
    assert count.inner_text() == "0"
    assert button.get_attribute("aria-pressed") == "false"
    page.evaluate("window.ublogNoReload = true")
    navigations = watch.navigations
    with page.expect_response(f"**/{post_id}/like/") as liked:
        button.click()
    assert liked.value.status == 200
    assert liked.value.json() == {"liked": True, "count": 1}
    page.wait_for_function(
        "el => el.textContent.trim() === '1'", arg=count.element_handle()
    )
    assert button.get_attribute("aria-pressed") == "true"
    assert post.locator(".ublog-like-label").inner_text() == "Unlike"
    assert "is-liked" in button.get_attribute("class")
    assert watch.navigations == navigations, "liking reloaded the page"
    assert page.evaluate("window.ublogNoReload") is True
    likes = f"SELECT count(*) FROM ublog_posts_like WHERE post_id = {post_id}"
    assert psql(tb, likes, "ublog") == "1"
    report("screenshot", screenshot(page, "list-signed-in.png"))
    # A reload shows the stored state.
    page.reload()
    assert page.locator(f"#post-{post_id} .ublog-like-count").inner_text() == "1"

    # --- edit it ----------------------------------------------------------------
    page.locator(f"#post-{post_id}").get_by_role("link", name="Edit").click()
    assert page.locator("h1").inner_text() == "Edit post"
    assert page.locator("#id_text").input_value() == text
    edited = f"{text} (edited)"
    page.fill("#id_text", edited)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{tb.url}/{post_id}/")
    assert edited in page.locator(f"#post-{post_id} .ublog-post-text").inner_text()
    sql = f"SELECT text FROM ublog_posts_post WHERE id = {post_id}"
    assert psql(tb, sql, "ublog") == edited
    # The image was kept.
    assert page.locator(f"#post-{post_id} img").get_attribute("src") == src

    # --- the author's profile, and a page that does not exist ------------------
    page.locator(f"#post-{post_id}").get_by_role("link", name=username).click()
    page.wait_for_url(f"{tb.url}/users/{username}/")
    assert page.locator("h1").inner_text() == username
    assert page.locator(f"#post-{post_id}").count() == 1
    minor += axe.check(page, "a profile")
    missing = f"{tb.url}/users/nobody-{username}/"
    assert page.goto(missing).status == 404
    # The one 404 this visit wants (its response and Chromium's console line).
    assert f"404: {missing}" in watch.errors
    watch.errors[:] = [error for error in watch.errors if missing not in error]
    minor += axe.check(page, "the 404 page")
    page.goto(f"/{post_id}/")

    # --- delete it --------------------------------------------------------------
    page.locator(f"#post-{post_id}").get_by_role("link", name="Delete").click()
    assert page.locator("h1").inner_text() == "Delete post"
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url(f"{tb.url}/")
    assert page.locator(f"#post-{post_id}").count() == 0
    assert edited not in page.content()
    assert tb.http(f"/{post_id}/").status == 404
    assert psql(tb, f"SELECT count(*) FROM ublog_posts_post WHERE id = {post_id}",
                "ublog") == "0"  # fmt: skip
    # The image file went with it (after the commit).
    deadline = time.monotonic() + 10
    while tb.http(src).status != 404 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert tb.http(src).status == 404

    # --- log out --------------------------------------------------------------
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    assert page.locator(".site-user").count() == 0
    assert page.get_by_role("link", name="Log in").first.is_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "sessionid"]

    # --- an anonymous visitor publishes a post --------------------------------
    page.goto("/")
    page.get_by_role("link", name="New post").first.click()
    anonymous = f"Anonymous hello from Chromium {username}"
    page.fill("#id_text", anonymous)
    page.get_by_role("button", name="Post").click()
    page.wait_for_url(re.compile(r"/\d+/$"))
    anon_id = int(re.search(r"/(\d+)/$", page.url)[1])
    page.goto("/")
    anon = page.locator(f"#post-{anon_id}")
    assert anonymous in anon.locator(".ublog-post-text").inner_text()
    assert anon.locator(".ublog-post-owner").inner_text() == "anonymous"
    assert anon.get_by_role("link", name="Edit").count() == 0
    owner = f"SELECT owner_id IS NULL FROM ublog_posts_post WHERE id = {anon_id}"
    assert psql(tb, owner, "ublog") == "t"
    # Visitors get a like link, not a form (their pages hold no CSRF token
    # and are cached): it leads to the login page, and back to this page.
    assert not watch.errors, watch.errors
    assert anon.locator("form.ublog-like").count() == 0
    anon.locator("a.ublog-like").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/$"))
    assert page.locator("h1").inner_text() == "Log in"
    assert not watch.errors, watch.errors

    # The site's stylesheet is applied (not an unstyled page).
    page.goto("/")
    header_bg = page.locator(".site-header").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert header_bg not in ("rgba(0, 0, 0, 0)", "transparent"), header_bg
    report("screenshot", screenshot(page, "list.png"))
    rules = sorted({f"{v['impact']} {v['id']}" for v in minor})
    report("axe: minor or moderate violations (9 pages)", ", ".join(rules) or "none")
