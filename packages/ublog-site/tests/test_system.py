"""Tests of the admin verbs (ublog_site.system) on a real SQLite site.

``setup`` runs for real here: it writes the configuration, makes the
directories, migrates and collects static files through ``ublog-ctl``
subprocesses, and links the nginx site, all inside a temporary tree. The
PostgreSQL paths run for real in the install test (tests/install), on a
booted Debian with the .deb installed.
"""

import io
import os
import sqlite3
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from ublog_site.config import load_config
from ublog_site.system import backup, configfile
from ublog_site.system.commands import run
from ublog_site.system.database import Database
from ublog_site.system.errors import AdminError
from ublog_site.system.setup import Options, ensure_user, setup, unsetup
from ublog_site.system.status import status

from .conftest import TEST_SECRET_KEY

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root (chown, runuser); CI runs as root"
)


@pytest.fixture
def site(tmp_path, nginx_tree):
    """A SQLite site under tmp_path, with a fake /etc/nginx tree."""
    data = tmp_path / "data"
    conf = tmp_path / "etc" / "ublog" / "ublog.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(
        f"[ublog]\nsecret_key = {TEST_SECRET_KEY}\ndata_dir = {data}\n"
        f"[database]\nengine = sqlite\n[email]\nbackend = console\n"
        f"[backup]\ndir = {tmp_path / 'backups'}\nkeep = 2\n"
    )
    nginx_etc = tmp_path / "etc" / "nginx"
    nginx = nginx_tree(
        etc=nginx_etc,
        marker=data / ".nginx-default-disabled",
        snippets=tmp_path / "etc" / "ublog" / "nginx.d",
    )
    (nginx_etc / "sites-available" / "ublog").write_text(
        "include /etc/ublog/nginx.d/*.http;\nserver {}\n"
    )
    (nginx_etc / "sites-available" / "default").write_text("server {}\n")
    (nginx_etc / "sites-enabled" / "default").symlink_to("../sites-available/default")
    return Options(
        config_path=conf, user="root", web_group="root", nginx=nginx, home=data
    )


def said():
    lines = []
    return lines, lines.append


@needs_root
def test_setup_builds_a_working_site_and_is_idempotent(site):
    lines, say = said()
    config = setup(site, say=say)
    data = config["ublog", "data_dir"]
    db = sqlite3.connect(data / "db.sqlite3")
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert {"ublog_posts_post", "ublog_posts_like", "auth_user"} <= tables
    assert (config["ublog", "static_root"] / "ublog_site" / "site.css").is_file()
    assert (config["ublog", "static_root"] / "ublog_posts" / "like.js").is_file()
    media = config["ublog", "media_root"]
    assert stat.S_IMODE(media.stat().st_mode) == 0o2750
    enabled = site.nginx.enabled
    assert os.readlink(enabled / "ublog") == "../sites-available/ublog"
    assert not (enabled / "default").exists()
    assert "enabled nginx site ublog" in lines
    # Again, as on upgrade: nothing changes but a backup is taken first.
    lines2, say2 = said()
    setup(
        Options(**{**site.__dict__, "previous_version": "0.0.9"}),
        say=say2,
    )
    backups = backup.list_backups(config["backup", "dir"])
    assert len(backups) == 1 and backups[0].stem.endswith("-0.0.9")
    assert not any("nginx" in line for line in lines2)
    # Removal disables the site and gives Debian's default back.
    unsetup(site, say=say)
    assert not (enabled / "ublog").exists()
    assert os.readlink(enabled / "default") == "../sites-available/default"
    assert not site.nginx.marker.exists()


@needs_root
def jpeg_with_gps() -> bytes:
    """A JPEG as phones write them: camera and GPS position in its EXIF."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (48.0, 51.0, 29.0)})
    out = io.BytesIO()
    Image.new("RGB", (900, 600), "teal").save(out, "JPEG", exif=exif)
    return out.getvalue()


@needs_root
def test_setup_reencodes_the_images_stored_before(site):
    """On upgrade, images stored as uploaded (before uploads were
    re-encoded) lose their metadata and get thumbnails; one that cannot be
    processed is named in a warning and never fails the upgrade."""
    config = setup(site, say=lambda line: None)
    media = config["ublog", "media_root"]
    (media / "ublog_posts").mkdir(exist_ok=True)
    (media / "ublog_posts" / "old.jpg").write_bytes(jpeg_with_gps())
    (media / "ublog_posts" / "broken.jpg").write_bytes(jpeg_with_gps()[:200])
    db_path = config["ublog", "data_dir"] / "db.sqlite3"
    with sqlite3.connect(db_path) as db:
        for name in ("old", "broken"):
            db.execute(
                "INSERT INTO ublog_posts_post (text, image, image_alt, thumbnail,"
                " status, poster_session, created, modified) VALUES"
                f" ('{name}', 'ublog_posts/{name}.jpg', '', '', 'published', '',"
                " '2026-01-01', '2026-01-01')"
            )
    lines, say = said()
    setup(Options(**{**site.__dict__, "previous_version": "0.0.9"}), say=say)
    with sqlite3.connect(db_path) as db:
        rows = dict(
            db.execute("SELECT text, image || '|' || thumbnail FROM ublog_posts_post")
        )
    image, thumbnail = rows["old"].split("|")
    assert image != "ublog_posts/old.jpg" and thumbnail
    assert not (media / "ublog_posts" / "old.jpg").exists()
    assert b"PhoneMaker" not in (media / image).read_bytes()
    with Image.open(media / thumbnail) as small:
        assert small.size == (640, 427)
    assert rows["broken"] == "ublog_posts/broken.jpg|"
    assert any("served as they were stored" in line for line in lines), lines


def test_setup_writes_the_config_once_with_a_secret(tmp_path):
    path = tmp_path / "etc" / "ublog.conf"
    assert configfile.ensure(path, group="root", allowed_hosts=["blog.test"])
    text = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750
    config = load_config({"UBLOG_CONFIG": str(path)})
    assert len(config.secret_key) == 64
    assert config["ublog", "allowed_hosts"] == ["blog.test"]
    assert config["database", "engine"] == "postgresql"
    os.chmod(path, 0o666)
    assert not configfile.ensure(path, group="root")
    assert path.read_text() == text  # never overwritten: the secret survives
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_generated_secrets_differ_and_pass_the_deploy_check_length():
    keys = {configfile.generate_secret_key() for _ in range(5)}
    assert len(keys) == 5
    assert all(len(k) == 64 and len(set(k)) > 5 for k in keys)


def test_local_hosts_lists_loopback_and_this_host():
    hosts = configfile.local_hosts()
    assert hosts[:3] == ["localhost", "127.0.0.1", "[::1]"]
    assert len(hosts) == len(set(hosts))
    import socket

    assert socket.gethostname() in hosts


def test_a_configuration_from_another_host_names_this_one_unlisted():
    """What a restore from another host warns about: this machine's own
    names and addresses its allowed_hosts lacks (loopback aside)."""
    import socket

    here = socket.gethostname()
    other = ["blog.example.org", "localhost", "127.0.0.1", "192.0.2.7"]
    assert here in configfile.unlisted_local_hosts(other)
    assert "localhost" not in configfile.unlisted_local_hosts(other)
    assert configfile.unlisted_local_hosts(configfile.local_hosts()) == []
    assert configfile.unlisted_local_hosts(["*"]) == []
    # Django's ".example.org" allows example.org and its subdomains.
    assert here not in configfile.unlisted_local_hosts(["." + here])


def test_setup_refuses_a_broken_config_with_the_key_named(site):
    site.config_path.write_text("[database]\nport = abc\n")
    if os.geteuid() != 0:
        pytest.skip("needs root")
    with pytest.raises(AdminError) as caught:
        setup(site, say=lambda line: None)
    message = str(caught.value)
    assert "port" in message and ":2:" in message
    assert "ublog-ctl setup" in message  # the hint


def test_ensure_user_keeps_an_existing_user():
    assert ensure_user("root", Path("/root")) is False


@needs_root
def test_backup_restore_roundtrip_and_rotation(site):
    config = setup(site, say=lambda line: None)
    db_path = config["ublog", "data_dir"] / "db.sqlite3"
    media = config["ublog", "media_root"]
    (media / "ublog_posts").mkdir()
    (media / "ublog_posts" / "a.png").write_bytes(b"png-bytes")

    def posts():
        with sqlite3.connect(db_path) as db:
            return db.execute("SELECT text FROM ublog_posts_post").fetchall()

    with sqlite3.connect(db_path) as db:
        db.execute(
            "INSERT INTO ublog_posts_post"
            " (text, image, image_alt, thumbnail, status, poster_session,"
            " created, modified)"
            " VALUES ('kept', '', '', '', 'published', '', '2026-01-01', '2026-01-01')"
        )
    made = backup.create(config, "0.1.0")
    assert stat.S_IMODE(made.dump.stat().st_mode) == 0o600
    with sqlite3.connect(db_path) as db:
        db.execute("DELETE FROM ublog_posts_post")
    (media / "ublog_posts" / "a.png").unlink()
    (media / "stray.txt").write_text("not in the backup")
    backup.restore(config, backup.find(config, made.stem))
    assert posts() == [("kept",)]
    assert (media / "ublog_posts" / "a.png").read_bytes() == b"png-bytes"
    assert not (media / "stray.txt").exists()
    assert stat.S_IMODE(media.stat().st_mode) == 0o2750
    # keep = 2: a third backup deletes the oldest.
    backup.create(config, "0.1.0")
    backup.create(config, "0.1.0")
    remaining = backup.list_backups(config["backup", "dir"])
    assert len(remaining) == 2 and made not in remaining
    assert list(config["backup", "dir"].glob(f"{made.stem}.*")) == []


@needs_root
def test_a_damaged_or_incomplete_backup_restores_nothing(site):
    """Restore checks every checksum before touching anything."""
    config = setup(site, say=lambda line: None)
    media = config["ublog", "media_root"]
    (media / "kept.png").write_bytes(b"before")
    made = backup.create(config, "0.1.0")
    assert backup.verify(made) is True
    names = {line.split("  ")[1] for line in made.sums.read_text().splitlines()}
    assert names == {made.dump.name, made.media.name, made.config.name}
    (media / "kept.png").write_bytes(b"after the backup")
    conf_before = site.config_path.read_text()

    intact = made.media.read_bytes()
    damaged = bytearray(intact)
    damaged[len(damaged) // 2] ^= 0xFF
    made.media.write_bytes(bytes(damaged))
    with pytest.raises(AdminError, match="is damaged: .*media.tar.gz differs"):
        backup.restore(config, backup.find(config, made.stem))
    assert (media / "kept.png").read_bytes() == b"after the backup"
    assert site.config_path.read_text() == conf_before

    made.media.write_bytes(intact)
    made.config.unlink()
    with pytest.raises(AdminError, match="is incomplete: .*config.tar.gz is missing"):
        backup.restore(config, backup.find(config, made.stem))
    assert (media / "kept.png").read_bytes() == b"after the backup"


@needs_root
def test_backup_to_a_directory_copies_it_checked(site, tmp_path, monkeypatch, capsys):
    setup(site, say=lambda line: None)
    offsite = tmp_path / "offsite"
    code, out, err = cli(
        monkeypatch, capsys, site.config_path, "backup", "--to", str(tmp_path / "nope")
    )
    assert code == 2 and "is not a directory" in err
    assert backup.list_backups(tmp_path / "backups") == []  # refused first
    offsite.mkdir()
    code, out, err = cli(
        monkeypatch, capsys, site.config_path, "backup", "--to", str(offsite)
    )
    assert code == 0, err
    assert f"copied to {offsite}, checksums verified" in out
    [copy] = backup.list_backups(offsite)
    assert backup.verify(copy) is True
    [original] = backup.list_backups(tmp_path / "backups")
    assert [f.name for f in copy.files()] == [f.name for f in original.files()]
    assert not [f for f in offsite.iterdir() if f.name.startswith(".")]


def test_backups_hold_the_configuration_and_restore_it(site):
    """The secret key travels with the backup (a restored site keeps its
    sessions and signed links); the replaced ublog.conf is kept."""
    config = setup(site, say=lambda line: None)
    conf = site.config_path
    original = conf.read_text()
    made = backup.create(config, "0.1.0")
    assert stat.S_IMODE(made.config.stat().st_mode) == 0o600
    with tarfile.open(made.config) as tar:
        assert tar.extractfile("./ublog.conf").read().decode() == original
    changed = original.replace(TEST_SECRET_KEY, "another-secret-" + "x" * 50)
    conf.write_text(changed)
    conf.chmod(0o640)
    assert backup.restore(config, backup.find(config, made.stem)) is True
    assert conf.read_text() == original
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640
    assert Path(f"{conf}.pre-restore").read_text() == changed
    # A backup made before configurations (and checksums) were part of
    # them: no config.
    made.config.unlink()
    made.sums.unlink()
    conf.write_text(changed)
    assert backup.restore(config, backup.find(config, made.stem)) is False
    assert conf.read_text() == changed


def test_a_backup_whose_configuration_does_not_load_restores_nothing(site):
    config = setup(site, say=lambda line: None)
    made = backup.create(config, "0.1.0")
    db_path = config["ublog", "data_dir"] / "db.sqlite3"
    made.config.unlink()
    made.sums.unlink()  # (its checksums would say the file was replaced)
    broken = made.config.with_suffix(".tmp")
    broken.mkdir()
    (broken / "ublog.conf").write_text("[ublog]\nsecret_key = short\n[nope\n")
    with tarfile.open(made.config, "w:gz") as tar:
        tar.add(broken, arcname=".")
    before_conf, before_db = site.config_path.read_bytes(), db_path.read_bytes()
    with pytest.raises(AdminError, match="its ublog.conf does not load"):
        backup.restore(config, backup.find(config, made.stem))
    assert site.config_path.read_bytes() == before_conf
    assert db_path.read_bytes() == before_db


def test_restore_refuses_what_is_not_a_backup(site, tmp_path):
    config = load_config({"UBLOG_CONFIG": str(site.config_path)})
    with pytest.raises(AdminError, match="no such backup file"):
        backup.find(config, "ublog-nothing")
    fake = tmp_path / "backups" / "ublog-x.dump"
    fake.parent.mkdir()
    fake.write_text("not a database")
    with tarfile.open(tmp_path / "backups" / "ublog-x.media.tar.gz", "w:gz"):
        pass
    with pytest.raises(AdminError, match="not an SQLite database"):
        backup.restore(config, backup.find(config, str(fake)))


def test_restore_refuses_unsafe_media_archives(site, tmp_path):
    config = load_config({"UBLOG_CONFIG": str(site.config_path)})
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "payload"
    payload.write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname="../../escaped")
    media = config["ublog", "media_root"]
    with pytest.raises(AdminError, match="unsafe path"):
        backup._restore_media(evil, media)
    assert not (tmp_path / "escaped").exists()
    link = tmp_path / "link.tar.gz"
    with tarfile.open(link, "w:gz") as tar:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(AdminError, match="unexpected entry"):
        backup._restore_media(link, media)


def test_nginx_leaves_an_admins_own_default_site_alone(tmp_path, nginx_tree):
    nginx = nginx_tree()
    etc = tmp_path / "nginx"
    (etc / "sites-available" / "ublog").write_text("server {}\n")
    (etc / "sites-enabled" / "default").write_text("# the admin's own\n")
    assert nginx.enable() == ["enabled nginx site ublog"]
    assert (etc / "sites-enabled" / "default").read_text() == "# the admin's own\n"
    assert nginx.enable() == []
    assert nginx.disable(reload=False) == ["disabled nginx site ublog"]


def test_nginx_without_the_site_file_does_nothing(nginx_tree):
    nginx = nginx_tree(layout="none")
    assert nginx.enable() == []
    assert nginx.disable() == []


def test_database_settings_for_local_and_remote():
    local = Database("postgresql", "ublog", "ublog", "", None, "", "")
    assert local.is_local and local.client_user() == "ublog"
    assert local.client_env() == {"PGDATABASE": "ublog", "PGUSER": "ublog"}
    remote = Database("postgresql", "blog", "web", "db.test", 5433, "pw", "require")
    assert not remote.is_local and remote.client_user() is None
    assert remote.client_env()["PGHOST"] == "db.test"
    assert remote.client_env()["PGPASSWORD"] == "pw"
    assert remote.client_env()["PGSSLMODE"] == "require"
    with pytest.raises(AdminError, match="lower-case letters"):
        Database(
            "postgresql", "ub-log; DROP", "u", "", None, "", ""
        ).check_identifiers()
    Database("postgresql", "ublog", "ublog", "", None, "", "").check_identifiers()


def test_run_reports_the_last_error_line_and_the_hint():
    with pytest.raises(AdminError) as caught:
        run(
            [sys.executable, "-c", "import sys; sys.exit('first\\nthe reason')"],
            what="the step",
            hint="do this",
        )
    assert str(caught.value) == "the step failed: the reason (hint: do this)"
    with pytest.raises(AdminError, match="no-such-program not found"):
        run(["no-such-program"], what="x")
    assert run(["false"], what="x", check=False).returncode == 1


def test_status_reports_each_part(site):
    config = load_config({"UBLOG_CONFIG": str(site.config_path)})
    lines, say = said()
    healthy = status(config, say=say)
    assert not healthy  # not migrated yet
    text = "\n".join(lines)
    assert f"config:   {site.config_path}" in text
    assert "database: sqlite" in text
    assert "backups:" in text and "media:" in text


def test_status_shows_the_outbox_and_whether_the_mail_server_answers(
    site, smtp_server, closed_port
):
    base = site.config_path.read_text().replace("[email]\nbackend = console\n", "")
    site.config_path.write_text(base + "[email]\nhost = 127.0.0.1\n")
    site.home.mkdir()
    assert ctl("preparedb", "--verbosity", "0", config=site.config_path).returncode == 0

    def report(port):
        site.config_path.write_text(f"{base}[email]\nhost = 127.0.0.1\nport = {port}\n")
        config = load_config({"UBLOG_CONFIG": str(site.config_path)})
        lines, say = said()
        return status(config, say=say, service_user="nobody-here"), "\n".join(lines)

    healthy, text = report(smtp_server.port)
    assert healthy, text
    assert "mail:     outbox empty, 0 failed" in text
    assert f"delivery: SMTP 127.0.0.1:{smtp_server.port}: answers" in text
    healthy, text = report(closed_port)
    assert not healthy
    assert (
        f"delivery: SMTP 127.0.0.1:{closed_port}: NOT ANSWERING: the server does "
        "not answer: Connection refused"
    ) in text
    # The outbox unreadable (its table gone): said, and unhealthy.
    db = sqlite3.connect(site.home / "db.sqlite3")
    db.execute("DROP TABLE ublog_site_mailretry")
    db.execute("DROP TABLE mailer_message")
    db.close()
    healthy, text = report(smtp_server.port)
    assert not healthy
    assert "mail:     unknown: django.db.utils.OperationalError: no such table" in text


def ctl(*args, config=None, user=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("UBLOG_")}
    if config:
        env["UBLOG_CONFIG"] = str(config)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "ublog_site.ctl", *args],
        capture_output=True,
        text=True,
        env=env,
    )


def test_ctl_checkconfig_names_the_key_in_one_line(site):
    good = ctl("checkconfig", config=site.config_path)
    assert good.returncode == 0
    assert good.stdout.startswith("configuration ok")
    site.config_path.write_text("[ublog]\nsecret_key = x\ndebug = maybe\n")
    bad = ctl("checkconfig", config=site.config_path)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert ":3: [ublog] debug: 'maybe' is not a boolean" in bad.stderr


@needs_root
def test_ctl_backup_list_and_restore_missing(site):
    setup(site, say=lambda line: None)
    made = ctl("backup", config=site.config_path)
    assert made.returncode == 0, made.stderr
    assert "backup written" in made.stdout
    listed = ctl("backup", "--list", config=site.config_path)
    assert listed.stdout.count(".dump") == 1
    missing = ctl("restore", "ublog-nope", config=site.config_path)
    assert missing.returncode == 2
    assert "no such backup file" in missing.stderr
    state = ctl("status", config=site.config_path)
    assert state.returncode == 0, state.stdout + state.stderr
    assert "reachable, migrated" in state.stdout


#: ``ublog-ctl setup`` in a process that gave up root for good (nobody's
#: ids, no groups) once its modules were loaded: the interpreter may live
#: where nobody cannot run it (a pyenv build under /root), and it does not
#: have to, since the check under test reads the process's ids.
AS_NOBODY = """
import os, pwd, sys
from ublog_site.system.cli import main
nobody = pwd.getpwnam("nobody")
os.setgroups([])
os.setgid(nobody.pw_gid)
os.setuid(nobody.pw_uid)
assert os.getresuid() == (nobody.pw_uid,) * 3 and os.getgroups() == []
sys.exit(main(["setup"]))
"""


def test_ctl_admin_verbs_need_root(site):
    if os.geteuid() == 0:
        result = subprocess.run(
            [sys.executable, "-c", AS_NOBODY],
            capture_output=True,
            text=True,
            cwd="/",
        )
    else:
        result = ctl("setup", config=site.config_path)
    assert result.returncode == 2, result.stderr
    assert "must run as root (hint: sudo ublog-ctl setup)" in result.stderr


def test_check_reports_pending_migrations_and_unreachable_db(site, tmp_path):
    (tmp_path / "data").mkdir()  # an empty SQLite database, not migrated
    fresh = ctl("check", config=site.config_path)
    assert "ublog_site.W001" in fresh.stderr + fresh.stdout
    assert "unapplied migration(s)" in fresh.stderr + fresh.stdout
    text = site.config_path.read_text()
    gone = tmp_path / "missing" / "dir" / "db.sqlite3"
    broken = text.replace("engine = sqlite", f"engine = sqlite\nname = {gone}")
    site.config_path.write_text(broken)
    down = ctl("check", config=site.config_path)
    assert down.returncode == 1
    assert "ublog_site.E001" in down.stderr
    assert "unreachable" in down.stderr


def cli(monkeypatch, capsys, config_path, *argv):
    """Run the admin verbs in-process, as ``ublog-ctl VERB`` would."""
    from ublog_site.system import cli as cli_module

    monkeypatch.setenv("UBLOG_CONFIG", str(config_path))
    code = cli_module.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@needs_root
def test_cli_verbs_in_process(site, monkeypatch, capsys):
    from ublog_site.system import cli as cli_module

    monkeypatch.setattr(
        cli_module, "Options", lambda **kw: Options(**{**site.__dict__, **kw})
    )
    code, out, err = cli(
        monkeypatch, capsys, site.config_path, "setup", "--user", "root"
    )
    assert code == 0, err
    assert out.strip().endswith("ublog-ctl setup: done")
    code, out, _ = cli(monkeypatch, capsys, site.config_path, "status")
    assert code == 0 and "reachable, migrated" in out
    code, out, _ = cli(monkeypatch, capsys, site.config_path, "backup")
    assert code == 0 and "backup written" in out
    code, out, _ = cli(monkeypatch, capsys, site.config_path, "backup", "--list")
    stem = Path(out.split()[0]).name.removesuffix(".dump")
    code, out, _ = cli(monkeypatch, capsys, site.config_path, "restore", stem)
    assert code == 0 and f"restored {stem}" in out
    code, out, _ = cli(monkeypatch, capsys, site.config_path, "checkconfig")
    assert code == 0 and "configuration ok" in out
    code, _, _ = cli(monkeypatch, capsys, site.config_path, "unsetup")
    assert code == 0
    assert not (site.nginx.enabled / "ublog").exists()


def test_cli_reports_errors_in_one_line(site, monkeypatch, capsys):
    site.config_path.write_text("[email]\nport = 0\n")
    code, out, err = cli(monkeypatch, capsys, site.config_path, "status")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("ublog-ctl status: ublog: ")
    assert "[email] port: 0 must be at least 1" in err


def test_default_web_group_is_a_real_group():
    import grp

    from ublog_site.system.setup import default_web_group

    grp.getgrnam(default_web_group())


@needs_root
def test_run_as_another_user_with_an_environment():
    result = run(
        ["sh", "-c", 'echo "$(id -un) $GREETING"'],
        what="x",
        user="nobody",
        env={"GREETING": "hello"},
    )
    assert result.stdout.decode().strip() == "nobody hello"


def remote_pg_config(tmp_path, site):
    """A config for a PostgreSQL server that refuses connections."""
    text = site.config_path.read_text().replace(
        "engine = sqlite", "engine = postgresql\nhost = 127.0.0.1\nport = 9"
    )
    path = tmp_path / "remote.conf"
    path.write_text(text)
    return load_config({"UBLOG_CONFIG": str(path)})


def test_status_and_restore_against_an_unreachable_postgresql(site, tmp_path):
    config = remote_pg_config(tmp_path, site)
    media = config["ublog", "media_root"]
    media.mkdir(parents=True)
    (media / "one.png").write_bytes(b"12345")
    lines, say = said()
    assert status(config, say=say) is False
    text = "\n".join(lines)
    assert "database: postgresql ublog (127.0.0.1): unreachable: " in text
    assert "media.tar.gz" not in text and "1 files, 5 bytes" in text
    directory = config["backup", "dir"]
    directory.mkdir(parents=True)
    (directory / "ublog-x.dump").write_bytes(b"SQLite format 3\x00...")
    with tarfile.open(directory / "ublog-x.media.tar.gz", "w:gz"):
        pass
    found = backup.find(config, str(directory / "ublog-x.media.tar.gz"))
    assert found.dump == directory / "ublog-x.dump"
    with pytest.raises(AdminError, match="not a pg_dump custom-format file"):
        backup.restore(config, found)


def test_backup_of_a_missing_sqlite_database_is_refused(site):
    config = load_config({"UBLOG_CONFIG": str(site.config_path)})
    with pytest.raises(AdminError, match="no database at .*db.sqlite3"):
        backup.create(config, "0.1.0")
    assert list(config["backup", "dir"].iterdir()) == []


@needs_root
def test_setup_refuses_a_database_newer_than_the_code(site):
    config = setup(site, say=lambda line: None)
    db_path = config["ublog", "data_dir"] / "db.sqlite3"
    with sqlite3.connect(db_path) as db:
        db.execute(
            "INSERT INTO django_migrations (app, name, applied)"
            " VALUES ('ublog_posts', '0099_from_the_future', '2026-01-01')"
        )
    with pytest.raises(AdminError) as caught:
        setup(site, say=lambda line: None)
    message = str(caught.value)
    assert "checking the database schema failed" in message
    assert "ublog_posts.0099_from_the_future" in message
    assert "refusing to run older code on a newer schema" in message
    with sqlite3.connect(db_path) as db:
        db.execute("DELETE FROM django_migrations WHERE name LIKE '0099%'")
    setup(site, say=lambda line: None)  # fine again


def test_checkschema_in_process(db):
    from io import StringIO

    from django.core.management import CommandError, call_command
    from django.db import connection

    out = StringIO()
    call_command("checkschema", stdout=out)
    assert "schema ok" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied)"
            " VALUES ('auth', '9999_future', '2026-01-01')"
        )
    with pytest.raises(CommandError, match=r"auth\.9999_future"):
        call_command("checkschema")


def test_migration_check_in_process(db):
    from django.db import connection

    from ublog_site.checks import check_migrations

    assert check_migrations(databases=["default"]) == []
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'ublog_posts'")
    [warning] = check_migrations(databases=["default"])
    assert warning.id == "ublog_site.W001"
    assert "ublog_posts.0001_initial" in warning.msg
