"""The questions apt asks (debconf), and the purge that asks: one booted
Debian 12 goes through it all (a second boot and install would add about a
minute to every run).

* An unattended installation with no answers writes ublog.conf as before
  debconf: none of those keys set.
* ``apt purge`` with the default answer keeps the database, the images and
  the backups, and says so; ``apt install ublog`` afterwards serves the
  earlier posts and their images again, with the same secret key.
* A purge answered yes deletes it all; then a preseeded unattended
  installation (host name, the admin's e-mail, HTTPS self-signed) writes
  the answers into ublog.conf, the site answers to that host name over
  HTTPS (HTTP redirects there), and ``debconf-show`` agrees; the admin then edits
  host_name in ublog.conf and ``dpkg-reconfigure -fnoninteractive ublog``
  keeps the edit (the file is the master).
"""

import time

from support.db import django
from support.debconf import active_keys, answers, preseed, purge_deletes_data
from support.figures import report
from support.httpclient import HttpSession, unverified
from support.images import gradient_png, png_bytes, png_pixels
from support.localrepo import apt, install_ublog
from support.site import CONF, image_src, publish, wait_for_200
from support.testbed import Testbed

HOST = "blog.example.test"
ADMIN = "ops@example.test"
#: The keys the questions set, none of them in ublog.conf by default.
ASKED = {("ublog", "host_name"), ("ublog", "admins"), ("tls", "mode")}
ASKED |= {("tls", "certificate"), ("tls", "key")}


def asked_keys(tb) -> dict[tuple[str, str], str]:
    keys = active_keys(tb)
    return {
        (section, key): keys[section][key]
        for section, key in ASKED
        if key in keys.get(section, {})
    }


def test_default_install_a_purge_that_keeps_the_data_then_preseeded_answers(
    ublog_root, release_deb, bed_args
):
    started = time.monotonic()
    with Testbed(tarball=ublog_root, **bed_args) as tb:
        check_default_install_and_keeping_purge(tb, release_deb())
        report(
            "debconf: default install, purge, reinstall",
            f"{time.monotonic() - started:.0f} s",
        )
        started = time.monotonic()
        purge_deletes_data(tb)
        said = apt(tb, "purge", "ublog")
        assert "kept" not in said.stdout + said.stderr
        for gone in ("/etc/ublog", "/var/lib/ublog", "/var/backups/ublog"):
            assert tb.run(["test", "-e", gone], check=False).returncode, gone
        check_preseeded_answers(tb, release_deb())
        report(
            "debconf: full purge, preseeded install, reconfigure",
            f"{time.monotonic() - started:.0f} s",
        )


def check_default_install_and_keeping_purge(tb, deb) -> None:
    out = install_ublog(tb, deb).stdout
    # No answers: ublog.conf as before debconf (the commented defaults).
    assert "set [" not in out, out[-3000:]
    assert asked_keys(tb) == {}
    conf = tb.run(["cat", CONF]).stdout
    for line in ("#host_name =", "#admins =", "#mode = off", "#certificate ="):
        assert f"\n{line}\n" in conf, line
    assert answers(tb)["tls"] == "off"
    assert wait_for_200(tb).status == 200

    posts = {}
    for text, image in (
        ("kept one", png_bytes(7, 5)),
        ("kept two", gradient_png()),
    ):
        pk = publish(tb.session(), text, image)
        posts[pk] = (text, image)
    tb.run(["ublog-ctl", "backup"])
    backups = tb.run("ls /var/backups/ublog").stdout.split()
    assert backups

    purged = apt(tb, "purge", "ublog")
    said = purged.stdout + purged.stderr
    assert "ublog: kept the PostgreSQL database ublog and role ublog" in said, said
    assert "ublog/purge_data boolean true | debconf-set-selections" in said
    assert tb.run("dpkg -l ublog | grep -c '^ii\\|^rc'", check=False).stdout in (
        "0\n",
        "",
    )
    for gone in (CONF, "/var/log/ublog"):
        assert tb.run(["test", "-e", gone], check=False).returncode, gone
    assert tb.run("ls /var/backups/ublog").stdout.split() == backups
    assert tb.run(["getent", "passwd", "ublog"]).returncode == 0
    assert tb.run(["debconf-show", "ublog"]).stdout.strip() == ""

    again = install_ublog(tb, deb).stdout
    assert f"restored {CONF}, kept by the last purge" in again, again[-3000:]
    assert "created PostgreSQL database" not in again
    assert tb.run(["cat", CONF]).stdout == conf  # the same secret key
    assert wait_for_200(tb).status == 200
    web = tb.session()
    for pk, (text, image) in posts.items():
        page = web.get(f"/{pk}/")
        assert page.status == 200 and text in page.text, (pk, page.status)
        src = image_src(page.text)
        assert src, page.text[:2000]
        served = web.get(src)
        # Re-encoded on upload: other bytes, the same picture.
        assert served.status == 200, src
        assert png_pixels(served.body) == png_pixels(image), src


def check_preseeded_answers(tb, deb) -> None:
    preseed(
        tb,
        host_name=("string", HOST),
        admin_email=("string", ADMIN),
        tls=("select", "self-signed"),
    )
    out = install_ublog(tb, deb).stdout
    assert f"set [ublog] host_name = {HOST} in {CONF}" in out, out[-3000:]
    assert asked_keys(tb) == {
        ("ublog", "host_name"): HOST,
        ("ublog", "admins"): ADMIN,
        ("tls", "mode"): "self-signed",
    }
    shown = answers(tb)
    assert (shown["host_name"], shown["admin_email"], shown["tls"]) == (
        HOST,
        ADMIN,
        "self-signed",
    )
    allowed = django(
        tb, "from django.conf import settings; print(settings.ALLOWED_HOSTS)"
    )
    assert repr(HOST) in allowed, allowed
    # HTTPS as answered: HTTP redirects to the name, HTTPS serves it (the
    # snakeoil pair), a name it does not know gets Django's 400.
    wait_for_200(tb, "/healthz")
    plain = tb.session().request("/", headers={"Host": HOST}, follow=False)
    assert (plain.status, plain.headers["Location"]) == (301, f"https://{HOST}/")
    secure = HttpSession(f"https://{tb.address}", tls=unverified())
    assert secure.request("/", headers={"Host": HOST}).status == 200
    assert secure.request("/", headers={"Host": "other.test"}).status == 400

    # The admin edits the file; asking again starts from the file.
    tb.run(["sed", "-i", f"s/^host_name = {HOST}$/host_name = edited.test/", CONF])
    before = tb.run(["cat", CONF]).stdout
    again = tb.run(["dpkg-reconfigure", "-fnoninteractive", "ublog"])
    assert "ublog-ctl setup: done" in again.stdout + again.stderr
    assert tb.run(["cat", CONF]).stdout == before
    assert answers(tb)["host_name"] == "edited.test"
