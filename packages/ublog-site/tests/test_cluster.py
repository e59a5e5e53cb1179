"""Sites on several hosts: roles, the shared cache, the load balancer's site,
the migration lock, password files (see README.rst, "Several hosts")."""

import stat

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import DatabaseError, connection

from ublog_site.config import ConfigError, load_config
from ublog_site.system.nginx import LB_SITE, Nginx, lb_site, real_ip_snippet

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
    text = lb_site(["10.0.0.11:80", "[fd00::12]:80"])
    assert "    server 10.0.0.11:80 max_fails=1 fail_timeout=5s;\n" in text
    assert "    server [fd00::12]:80 max_fails=1 fail_timeout=5s;\n" in text
    assert "proxy_pass http://ublog_app_servers;" in text
    assert "proxy_next_upstream error timeout" in text
    assert "listen 80 default_server;" in text
    snippet = real_ip_snippet(["10.0.0.5", "10.1.0.0/24"])
    assert snippet.splitlines()[2:] == [
        "set_real_ip_from 10.0.0.5;",
        "set_real_ip_from 10.1.0.0/24;",
        "real_ip_header X-Forwarded-For;",
        "real_ip_recursive on;",
    ]


@needs_root
def test_nginx_follows_the_role(tmp_path):
    etc = tmp_path / "nginx"
    (etc / "sites-available").mkdir(parents=True)
    (etc / "sites-enabled").mkdir()
    (etc / "sites-available" / "ublog").write_text(
        "include /etc/ublog/nginx.d/*.http;\nserver {}\n"
    )
    nginx = Nginx(etc, marker=tmp_path / "marker", snippets=tmp_path / "nginx.d")
    assert nginx.configure("lb", ["a:80"]) == [
        f"wrote {tmp_path}/nginx.d/limits.http",
        f"wrote {tmp_path}/nginx.d/limits.conf",
        f"wrote {etc}/sites-available/{LB_SITE}",
    ]
    assert nginx.configure("lb", ["a:80"]) == []  # unchanged: not rewritten
    assert nginx.enable() == [f"enabled nginx site {LB_SITE}"]
    assert not (etc / "sites-enabled" / "ublog").exists()
    assert nginx.configure("app", load_balancers=["10.0.0.5"]) == [
        f"removed nginx site {LB_SITE}",
        f"wrote {tmp_path}/nginx.d/real-ip.conf",
    ]
    assert nginx.enable() == [
        f"disabled nginx site {LB_SITE}",
        "enabled nginx site ublog",
    ]
    assert nginx.configure("all-in-one") == [f"removed {tmp_path}/nginx.d/real-ip.conf"]
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
