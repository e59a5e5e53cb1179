"""The purge plan: what `apt purge` drops is read from the configuration by
the same code that uses it (a socket directory as host is local)."""

import os

import pytest

from ublog_site.config import load_config
from ublog_site.system import purge_plan
from ublog_site.system.errors import AdminError
from ublog_site.system.setup import Options, unsetup

SECRET = "purge-plan-tests-" + "k" * 50


def plan_of(tmp_path, text):
    path = tmp_path / "ublog.conf"
    path.write_text(f"[ublog]\nsecret_key = {SECRET}\n{text}")
    config = load_config({"UBLOG_CONFIG": str(path)})
    written = purge_plan.write(config, tmp_path / "state")
    assert written == tmp_path / "state" / ".purge-plan"
    assert written.stat().st_mode & 0o777 == 0o644
    lines = written.read_text().splitlines()
    assert lines[0].startswith("# Written by ublog-ctl setup")
    return dict(line.split("=", 1) for line in lines if not line.startswith("#"))


def test_the_configured_local_database_is_the_one_dropped(tmp_path):
    assert plan_of(tmp_path, "") == {
        "drop": "yes",
        "name": "ublog",
        "user": "ublog",
        "host": "",
        "port": "",
    }
    # A socket directory is the local server (peer authentication), as the
    # site sees it: dropped, by that socket and port.
    assert plan_of(
        tmp_path,
        "[database]\nname = blogdb\nuser = blogger\nhost = /var/run/postgresql\n"
        "port = 5433\n",
    ) == {
        "drop": "yes",
        "name": "blogdb",
        "user": "blogger",
        "host": "/var/run/postgresql",
        "port": "5433",
    }


def test_nothing_is_dropped_on_another_server_or_on_a_balancer(tmp_path):
    remote = "[database]\nhost = db.example.org\nname = blogdb\n"
    assert plan_of(tmp_path, remote) == {"drop": "no"}
    lb = "role = lb\n[cluster]\napp_servers = 10.0.0.1:80\n"
    assert plan_of(tmp_path, lb) == {"drop": "no"}
    assert plan_of(tmp_path, "[database]\nengine = sqlite\n") == {"drop": "no"}


def test_a_name_the_shell_could_misread_is_refused(tmp_path):
    with pytest.raises(AdminError, match="use lower-case letters, digits and _"):
        plan_of(tmp_path, "[database]\nname = blog; rm -rf /\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="unsetup is root's (tox runs as root)")
def test_unsetup_records_the_configuration_as_it_is_on_removal(tmp_path, nginx_tree):
    conf = tmp_path / "ublog.conf"
    conf.write_text(f"[ublog]\nsecret_key = {SECRET}\n[database]\nname = blogdb\n")
    opts = Options(
        config_path=conf,
        nginx=nginx_tree(),
        home=tmp_path / "state",
    )
    said = []
    unsetup(opts, say=said.append)
    plan = (tmp_path / "state" / ".purge-plan").read_text()
    assert "\nname=blogdb\n" in plan
    # A configuration broken since: the plan of the last good one stays.
    conf.write_text("[ublog]\nsecret_key = x\n[database]\nport = many\n")
    unsetup(opts, say=said.append)
    assert (tmp_path / "state" / ".purge-plan").read_text() == plan
    assert said[-1].startswith("kept the purge plan of the last setup: ublog: ")
