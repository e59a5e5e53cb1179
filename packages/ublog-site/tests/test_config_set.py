"""``ublog-ctl setup --set SECTION.KEY=VALUE``: ublog.conf edited in place.

The debconf answers reach ublog.conf this way (debian/ublog.postinst), so an
admin's comments and layout must survive, a value equal to what the file
already means must not touch it, and a bad value must leave it untouched.
"""

import os
import stat

import pytest

from ublog_site.config import load_config
from ublog_site.system import configfile
from ublog_site.system.errors import AdminError

SECRET = "s" * 60


@pytest.fixture
def conf(tmp_path):
    """The packaged example with a secret key, as setup writes it."""
    text = configfile.render(SECRET, ["localhost"])
    path = tmp_path / "ublog.conf"
    path.write_text(text)
    os.chmod(path, 0o640)
    return path


def load(path):
    return load_config({"UBLOG_CONFIG": str(path)})


def test_commented_example_line_becomes_the_value(conf):
    before = conf.read_text().splitlines()
    changes = configfile.set_values(
        conf, ["ublog.host_name=blog.example.test", "tls.mode=self-signed"]
    )
    assert changes == [
        f"set [ublog] host_name = blog.example.test in {conf}",
        f"set [tls] mode = self-signed in {conf}",
    ]
    after = conf.read_text().splitlines()
    # Same lines, two replaced in place: every comment is kept.
    assert len(after) == len(before)
    assert [
        i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b
    ] == [
        before.index("#host_name ="),
        before.index("#mode = off"),
    ]
    config = load(conf)
    assert config["ublog", "host_name"] == "blog.example.test"
    assert "blog.example.test" in config["ublog", "allowed_hosts"]
    assert config["tls", "mode"] == "self-signed"


def test_active_line_is_replaced_not_duplicated(conf):
    configfile.set_values(conf, ["ublog.admins=a@example.test"])
    configfile.set_values(conf, ["ublog.admins=Jane <jane@example.test>"])
    lines = conf.read_text().splitlines()
    assert [line for line in lines if line.startswith("admins")] == [
        "admins = Jane <jane@example.test>"
    ]
    assert "#admins =" not in lines
    assert load(conf)["ublog", "admins"] == ["Jane <jane@example.test>"]


def test_key_of_the_right_section_only(conf):
    # [email] host and [database] host also exist: [tls] key vs. others.
    configfile.set_values(
        conf,
        [
            "tls.mode=files",
            "tls.certificate=/etc/ssl/blog.pem",
            "tls.key=/etc/ssl/blog.key",
            "database.host=db.example.test",
        ],
    )
    lines = conf.read_text().splitlines()
    assert "host = localhost" not in lines  # [email] host untouched
    assert "#host = localhost" in lines
    assert lines.count("host = db.example.test") == 1
    config = load(conf)
    assert str(config["tls", "key"]) == "/etc/ssl/blog.key"
    assert config["database", "host"] == "db.example.test"
    assert config["email", "host"] == "localhost"


def test_values_that_change_nothing_leave_the_file_alone(conf):
    before = conf.read_text()
    mtime = conf.stat().st_mtime_ns
    # The packaged defaults, with no active line: nothing to write (the
    # debconf defaults of a noninteractive install).
    changes = configfile.set_values(
        conf,
        ["ublog.host_name=", "ublog.admins=", "tls.mode=off", "tls.certificate="],
    )
    assert changes == []
    assert conf.read_text() == before
    assert conf.stat().st_mtime_ns == mtime
    configfile.set_values(conf, ["ublog.host_name=blog.example.test"])
    assert configfile.set_values(conf, ["ublog.host_name=blog.example.test"]) == []


def test_an_active_value_can_be_emptied(conf):
    configfile.set_values(conf, ["ublog.host_name=blog.example.test"])
    assert configfile.set_values(conf, ["ublog.host_name="]) == [
        f"set [ublog] host_name = in {conf}"
    ]
    assert load(conf)["ublog", "host_name"] == ""


def test_missing_key_and_section_are_appended(tmp_path):
    path = tmp_path / "ublog.conf"
    path.write_text(f"# mine\n[ublog]\nsecret_key = {SECRET}\n\n[backup]\nkeep = 3\n")
    configfile.set_values(path, ["ublog.host_name=b.example.test", "tls.mode=off"])
    configfile.set_values(path, ["tls.mode=self-signed"])
    assert path.read_text() == (
        f"# mine\n[ublog]\nsecret_key = {SECRET}\nhost_name = b.example.test\n\n"
        "[backup]\nkeep = 3\n\n[tls]\nmode = self-signed\n"
    )


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("ublog.host_name=not a name", "is not a host name"),
        ("ublog.admins=nobody", "is not an e-mail address"),
        ("tls.mode=always", "is not one of"),
        ("tls.mode=files", "mode = files needs [tls] certificate"),
        ("tls.mode=acme", "mode = acme needs [ublog] host_name"),
        ("tls.certificate=relative.pem", "is not an absolute path"),
        ("tls.colour=blue", "[tls] has no key colour"),
        ("nope.key=1", "unknown section [nope]"),
        ("ublog.host_name", "expected SECTION.KEY=VALUE"),
        ("host_name=x", "expected SECTION.KEY=VALUE"),
    ],
)
def test_bad_input_fails_in_one_line_and_leaves_the_file(conf, assignment, message):
    before = conf.read_text()
    with pytest.raises(AdminError) as caught:
        configfile.set_values(conf, ["ublog.admins=ok@example.test", assignment])
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert conf.read_text() == before
    assert [p.name for p in conf.parent.iterdir()] == ["ublog.conf"]  # no temp


def test_validation_error_names_the_file_not_the_temporary(conf):
    with pytest.raises(AdminError) as caught:
        configfile.set_values(conf, ["ublog.host_name=-bad-"])
    assert str(caught.value).startswith(f"ublog: {conf}:")
    assert str(caught.value).endswith(f"{conf} left unchanged")


def test_owner_and_mode_are_kept(conf):
    os.chmod(conf, 0o640)
    info = conf.stat()
    configfile.set_values(conf, ["ublog.host_name=blog.example.test"])
    after = conf.stat()
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert (after.st_uid, after.st_gid) == (info.st_uid, info.st_gid)
    assert after.st_ino != info.st_ino  # replaced by a rename, never rewritten


def test_setup_option_reaches_the_options():
    from ublog_site.system.cli import parser

    args = parser().parse_args(
        ["setup", "--set", "ublog.host_name=a.test", "--set", "tls.mode=off"]
    )
    assert args.set == ["ublog.host_name=a.test", "tls.mode=off"]
    assert parser().parse_args(["setup"]).set == []


def test_kept_configuration_comes_back_once(tmp_path):
    etc = tmp_path / "etc"
    kept = tmp_path / "lib" / configfile.KEPT_DIR_NAME
    (kept / "nginx.d").mkdir(parents=True)
    (kept / "ublog.conf").write_text(f"[ublog]\nsecret_key = {SECRET}\n")
    (kept / "smtp-password").write_text("pw\n")
    (kept / "nginx.d" / "limits.conf").write_text("# generated\n")
    etc.mkdir()
    (etc / "smtp-password").write_text("newer\n")  # present: not replaced
    path = etc / "ublog.conf"
    restored = configfile.restore_kept(path, kept)
    assert sorted(p.relative_to(etc).as_posix() for p in restored) == [
        "nginx.d/limits.conf",
        "ublog.conf",
    ]
    assert load(path).secret_key == SECRET
    assert (etc / "smtp-password").read_text() == "newer\n"
    assert not kept.exists()
    assert configfile.restore_kept(path, kept) == []


def test_nothing_restored_over_an_existing_configuration(conf, tmp_path):
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "ublog.conf").write_text("[ublog]\nsecret_key = other\n")
    assert configfile.restore_kept(conf, kept) == []
    assert kept.exists() and SECRET in conf.read_text()
