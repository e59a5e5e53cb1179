"""Sites on several hosts: roles, the shared cache, the load balancer's site,
the migration lock, password files (see README.rst, "Several hosts")."""

import stat

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import DatabaseError, connection

from ublog_site.config import ConfigError, load_config
from ublog_site.system.nginx import LB_SITE, real_ip_snippet
from ublog_site.system.nginx_site import SiteSpec, render

from .test_settings import SECRET, build  # noqa: F401 (fixture)
from .test_system import cli, needs_root, site  # noqa: F401 (fixture)


def load(tmp_path, text):
    path = tmp_path / "ublog.conf"
    path.write_text(f"[ublog]\nsecret_key = {SECRET}\n" + text)
    return load_config({"UBLOG_CONFIG": str(path)})


# -- configuration ---------------------------------------------------------------


def test_roles_and_their_checks(tmp_path):
    assert load(tmp_path, "")["ublog", "role"] == "all-in-one"
    conf = load(tmp_path, "role = app\n[cluster]\nload_balancers = 10.0.0.1\n")
    assert conf["ublog", "role"] == "app"
    assert conf["cluster", "load_balancers"] == ["10.0.0.1"]
    conf = load(tmp_path, "role = lb\n[cluster]\napp_servers = a:80, [::1]:8080\n")
    assert conf["cluster", "app_servers"] == ["a:80", "[::1]:8080"]
    with pytest.raises(ConfigError) as error:
        load(tmp_path, "role = lb\n")
    assert str(error.value).endswith(
        "ublog.conf:3: [cluster] app_servers: role = lb needs [cluster] "
        "app_servers (host:port, ...)"
    )
    with pytest.raises(ConfigError, match=r"\[ublog\] role: 'db' is not one of"):
        load(tmp_path, "role = db\n")
    for bad in ("a", "a:0", "a:70000", "a b:80", "http://a:80"):
        with pytest.raises(ConfigError, match=r"\[cluster\] app_servers: .* host:port"):
            load(tmp_path, f"[cluster]\napp_servers = {bad}\n")


def test_a_cache_server_needs_its_location(tmp_path):
    with pytest.raises(ConfigError) as error:
        load(tmp_path, "[cache]\nbackend = memcached\n")
    assert str(error.value).endswith(
        "ublog.conf:4: [cache] location: must be set for backend = memcached "
        "(host:port, or a redis:// URL for redis)"
    )
    conf = load(tmp_path, "[cache]\nbackend = redis\nlocation = redis://h:6379/1\n")
    assert conf["cache", "location"] == "redis://h:6379/1"


def test_cache_settings_per_backend(build):  # noqa: F811
    base = f"[ublog]\nsecret_key = {SECRET}\n"
    conf = build(base)
    assert conf["CACHES"]["default"]["BACKEND"].endswith("db.DatabaseCache")
    assert "SESSION_ENGINE" not in conf
    assert conf["UBLOG_POSTS_LIST_CACHE"] == "pages"
    assert conf["UBLOG_POSTS_LIST_GENERATION_CACHE"] == "default"
    conf = build(base + "[cache]\nbackend = memcached\nlocation = m1:11211, m2:11211\n")
    assert conf["CACHES"]["default"]["BACKEND"].endswith("PyMemcacheCache")
    assert conf["CACHES"]["default"]["LOCATION"] == ["m1:11211", "m2:11211"]
    assert conf["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"
    conf = build(base + "[cache]\nbackend = redis\nlocation = redis://r:6379/0\n")
    assert conf["CACHES"]["default"]["BACKEND"].endswith("redis.RedisCache")
    assert conf["CACHES"]["default"]["LOCATION"] == ["redis://r:6379/0"]
    assert conf["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"


# -- a real memcached ---------------------------------------------------------------


@pytest.mark.django_db
def test_rate_limits_and_list_generation_on_a_real_memcached(
    memcached, settings, client
):
    from django.core.cache import caches

    from ublog_posts import list_cache

    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": [memcached],
            "KEY_PREFIX": "ublog",
        },
    }
    caches["default"].clear()
    # The list generation lives there: every worker and host sees a change.
    token = list_cache.generation()
    assert caches["default"].get(list_cache.GENERATION_KEY) == token
    list_cache.new_generation()
    assert list_cache.generation() != token
    # Rate limits count there (memcached's atomic add and incr).
    settings.CACHES = {**settings.CACHES, "counters": settings.CACHES["default"]}
    settings.UBLOG_LIMITS = {"login": (2, 600)}
    codes = [
        client.post("/accounts/login/", {"username": "x", "password": "y"}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


# -- the load balancer's nginx site and the app hosts' real-ip snippet -------------


def test_lb_site_lists_every_app_server():
    text = render(SiteSpec(role="lb", app_servers=("10.0.0.11:80", "[fd00::12]:80")))
    assert "    server 10.0.0.11:80 max_fails=1 fail_timeout=5s;\n" in text
    assert "    server [fd00::12]:80 max_fails=1 fail_timeout=5s;\n" in text
    assert "proxy_pass http://ublog_app_servers;" in text
    assert "proxy_next_upstream error timeout http_502 http_503 http_504;" in text
    snippet = real_ip_snippet(["10.0.0.5", "10.1.0.0/24"])
    assert snippet.splitlines()[2:] == [
        "set_real_ip_from 10.0.0.5;",
        "set_real_ip_from 10.1.0.0/24;",
        "real_ip_header X-Forwarded-For;",
        "real_ip_recursive on;",
    ]


@needs_root
def test_nginx_follows_the_role(tmp_path, nginx_tree):
    nginx = nginx_tree()
    etc = tmp_path / "nginx"
    lb = SiteSpec(role="lb", app_servers=("a:80",))
    assert nginx.configure(lb) == [
        f"wrote {tmp_path}/nginx.d/limits.http",
        f"wrote {tmp_path}/nginx.d/limits.conf",
        f"wrote {etc}/sites-available/{LB_SITE}",
    ]
    # The balancer is the default server (Debian's default site is off).
    assert (
        "listen 80 default_server;" in (etc / "sites-available" / LB_SITE).read_text()
    )
    assert nginx.configure(lb) == []  # unchanged: not rewritten
    assert nginx.enable() == [f"enabled nginx site {LB_SITE}"]
    assert not (etc / "sites-enabled" / "ublog").exists()
    app = SiteSpec(role="app", load_balancers=("10.0.0.5",))
    assert nginx.configure(app) == [
        f"removed nginx site {LB_SITE}",
        f"wrote {etc}/sites-available/ublog",
        f"wrote {tmp_path}/nginx.d/real-ip.conf",
    ]
    assert nginx.enable() == [
        f"disabled nginx site {LB_SITE}",
        "enabled nginx site ublog",
    ]
    assert nginx.configure(SiteSpec()) == [
        f"wrote {etc}/sites-available/ublog",
        f"removed {tmp_path}/nginx.d/real-ip.conf",
    ]
    assert nginx.enable() == []


# -- setup per role, the role verb, password files, the migration lock ------------


@needs_root
def test_setup_of_a_load_balancer_creates_no_database(site, monkeypatch, capsys):  # noqa: F811
    from ublog_site.system import cli as cli_module

    monkeypatch.setattr(
        cli_module, "Options", lambda **kw: type(site)(**{**site.__dict__, **kw})
    )
    text = site.config_path.read_text()
    site.config_path.write_text(
        text.replace("[ublog]\n", "[ublog]\nrole = lb\n")
        + "[cluster]\napp_servers = 10.0.0.11:80, 10.0.0.12:80\n"
    )
    code, out, err = cli(
        monkeypatch, capsys, site.config_path, "setup", "--user", "root"
    )
    assert code == 0, err
    assert "role lb: no database and no ublog.service on this host" in out
    assert not (site.home / "db.sqlite3").exists()
    assert not (site.home / "static").exists() or not any(
        (site.home / "static").iterdir()
    )
    enabled = site.nginx.enabled
    assert (enabled / LB_SITE).is_symlink() and not (enabled / "ublog").exists()
    assert "server 10.0.0.12:80" in (site.nginx.available / LB_SITE).read_text()
    code, out, _ = cli(monkeypatch, capsys, site.config_path, "role", "--runs-app")
    assert (code, out) == (1, "lb\n")
    site.config_path.write_text(text)
    code, out, _ = cli(monkeypatch, capsys, site.config_path, "role", "--runs-app")
    assert (code, out) == (0, "all-in-one\n")
    # A broken configuration fails ublog.service's ExecCondition (255), so
    # the service refuses to start instead of being skipped.
    site.config_path.write_text(text.replace("[ublog]\n", "[ublog]\nrole = db\n"))
    code, out, err = cli(monkeypatch, capsys, site.config_path, "role", "--runs-app")
    assert (code, out) == (255, "")
    assert "[ublog] role: 'db' is not one of all-in-one, app, lb" in err


@needs_root
def test_setup_secures_a_preseeded_password_file(site, tmp_path):  # noqa: F811
    from ublog_site.system.setup import secure_password_files

    secret = tmp_path / "db-password"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    site.config_path.write_text(
        site.config_path.read_text().replace(
            "[email]\n", f"[email]\npassword_file = {secret}\n"
        )
    )
    config = load_config({"UBLOG_CONFIG": str(site.config_path)})
    assert secure_password_files(config, "root") == [secret]
    assert stat.S_IMODE(secret.stat().st_mode) == 0o640
    assert secure_password_files(config, "root") == []


@pytest.mark.django_db(transaction=True)
def test_preparedb_migrates_and_creates_what_is_missing(capsys):
    """A database of an older release (here: one without the cache table,
    as `make run` left them) gets everything; a second run changes nothing."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE ublog_cache")
    with pytest.raises(DatabaseError):
        cache.get("anything")
    call_command("preparedb", verbosity=1)
    assert "No migrations to apply." in capsys.readouterr().out
    cache.set("prepared", 1)
    assert cache.get("prepared") == 1
    call_command("preparedb", verbosity=1)
    assert cache.get("prepared") == 1


# -- the balancer's active health check (ublog-lb-check.service) -----------------


def test_lb_check_takes_failing_hosts_out_and_puts_them_back(tmp_path, nginx_tree):
    from ublog_site.system import lb_check

    nginx = nginx_tree(enabled=False)
    etc = tmp_path / "nginx"
    conf = tmp_path / "ublog.conf"
    conf.write_text(
        f"[ublog]\nsecret_key = {SECRET}\nrole = lb\n"
        "[cluster]\napp_servers = 10.0.0.11:80, 10.0.0.12:80\n"
    )
    config = load_config({"UBLOG_CONFIG": str(conf)})
    answers = {}
    asked = []

    def ask(url, timeout):
        asked.append((url, timeout))
        return answers[url.split("/")[2]]

    said = []
    lb_site = etc / "sites-available" / LB_SITE

    def round_(failures):
        return lb_check.check_once(config, nginx, said.append, failures, ask=ask)

    up, down = (True, "200 ok"), (False, "503 database unavailable: gone")
    answers.update({"10.0.0.11:80": up, "10.0.0.12:80": up})
    failures = round_({})
    assert failures == {"10.0.0.11:80": 0, "10.0.0.12:80": 0} and said == []
    assert " down;" not in lb_site.read_text()
    assert asked[0] == ("http://10.0.0.11:80/healthz", lb_check.TIMEOUT)

    # One failed round is not enough (a slow answer); two in a row are.
    answers["10.0.0.12:80"] = down
    failures = round_(failures)
    assert said == [] and " down;" not in lb_site.read_text()
    failures = round_(failures)
    assert said == [
        "10.0.0.12:80: /healthz 503 database unavailable: gone: "
        "taken out of the balancer"
    ]
    text = lb_site.read_text()
    assert "server 10.0.0.12:80 max_fails=1 fail_timeout=5s down;" in text
    assert "server 10.0.0.11:80 max_fails=1 fail_timeout=5s;" in text

    # Every host failing: none is out (nothing better to send visitors to).
    said.clear()
    answers["10.0.0.11:80"] = down
    failures = round_(failures)
    assert said == [
        "10.0.0.12:80: /healthz fails, like every other: back in the balancer"
    ]
    assert " down;" not in lb_site.read_text()
    failures = round_(failures)
    assert said[1:] == [
        "10.0.0.11:80: /healthz 503 database unavailable: gone: "
        "kept in: every app server fails"
    ]

    # One answers again: the other one is out at once (it has failed long).
    said.clear()
    answers["10.0.0.11:80"] = up
    failures = round_(failures)
    assert said == [
        "10.0.0.12:80: /healthz 503 database unavailable: gone: "
        "taken out of the balancer"
    ]
    said.clear()
    answers["10.0.0.12:80"] = up
    assert round_(failures) == {"10.0.0.11:80": 0, "10.0.0.12:80": 0}
    assert said == ["10.0.0.12:80: /healthz answers again: back in the balancer"]
    assert " down;" not in lb_site.read_text()


def test_lb_check_keeps_the_balancers_certificate(tmp_path, nginx_tree):
    """lb-check rewrites the whole site: with its TLS server (the cluster
    test found a balancer left on plain HTTP after its first round)."""
    from ublog_site.system import lb_check

    nginx = nginx_tree(enabled=False)
    etc = tmp_path / "nginx"
    cert, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    cert.write_text("x")
    key.write_text("x")
    conf = tmp_path / "ublog.conf"
    conf.write_text(
        f"[ublog]\nsecret_key = {SECRET}\nrole = lb\n"
        "[cluster]\napp_servers = 10.0.0.11:80, 10.0.0.12:80\n"
        f"[tls]\nmode = files\ncertificate = {cert}\nkey = {key}\n"
    )
    config = load_config({"UBLOG_CONFIG": str(conf)})
    answers = {"10.0.0.11:80": (True, "200 ok"), "10.0.0.12:80": (False, "502")}
    failures = {}
    for _ in range(lb_check.FALL):
        failures = lb_check.check_once(
            config, nginx, print, failures, ask=lambda url, _: answers[url[7:19]]
        )
    text = (etc / "sites-available" / LB_SITE).read_text()
    assert "server 10.0.0.12:80 max_fails=1 fail_timeout=5s down;" in text
    assert f"ssl_certificate {cert};" in text and "listen 443 ssl" in text
