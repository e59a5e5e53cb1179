"""The nginx site `ublog-ctl setup` generates from ublog.conf, per role and
[tls] mode, and the [tls] keys' checks.

nginx itself loads and serves these sites in tests/install (test_tls,
test_cluster); here: what is written and the refusals.
"""

import re

import pytest

from ublog_site.config import ConfigError, load_config
from ublog_site.system import tls
from ublog_site.system.errors import AdminError
from ublog_site.system.nginx_site import GENERATED, SiteSpec, Tls, render

PAIR = Tls("/etc/ssl/site.pem", "/etc/ssl/site.key")


def servers(text: str) -> list[str]:
    """The server blocks of a site, in order."""
    return re.findall(r"^server \{\n.*?^\}\n", text, flags=re.S | re.M)


def test_plain_http_serves_on_port_80_only():
    text = render(SiteSpec(host_name="blog.example.org"))
    (server,) = servers(text)
    assert "listen 80;" in server and "listen [::]:80;" in server
    assert "server_name blog.example.org;" in server
    assert "443" not in text and "Strict-Transport-Security" not in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in server


def test_tls_redirects_everything_but_the_health_check_and_sends_hsts():
    text = render(SiteSpec(host_name="blog.example.org", tls=PAIR))
    plain, secure = servers(text)
    assert "listen 80;" in plain
    assert "return 301 https://blog.example.org$request_uri;" in plain
    assert "location = /healthz" in plain
    assert "location /static/" not in plain
    assert "listen 443 ssl;" in secure and "listen [::]:443 ssl;" in secure
    assert "ssl_certificate /etc/ssl/site.pem;" in secure
    assert "ssl_certificate_key /etc/ssl/site.key;" in secure
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in secure
    hsts = 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains"'
    # Every location answers with HSTS (static and media included), and
    # Django's own header is hidden: one header, one value.
    assert secure.count(hsts) == 3
    assert "proxy_hide_header Strict-Transport-Security;" in secure


def test_without_a_host_name_the_redirect_keeps_the_visitors_host():
    plain = servers(render(SiteSpec(tls=PAIR)))[0]
    assert "server_name _;" in plain
    assert "return 301 https://$host$request_uri;" in plain


def test_hsts_preload_is_opt_in():
    assert "; preload" not in render(SiteSpec(tls=PAIR))
    assert "includeSubDomains; preload" in render(SiteSpec(tls=PAIR, hsts_preload=True))


@pytest.mark.parametrize(
    "size, body", [(5 * 1024 * 1024, "6m"), (10 * 1024 * 1024 + 1, "12m"), (1, "2m")]
)
def test_the_body_limit_follows_the_largest_image(size, body):
    assert f"client_max_body_size {body};" in render(SiteSpec(max_image_size=size))


def test_an_app_host_believes_x_forwarded_proto_from_its_balancers_only():
    text = render(SiteSpec(role="app", load_balancers=("10.0.0.5", "10.1.0.0/24")))
    geo = re.search(
        r"geo \$realip_remote_addr \$ublog_from_balancer \{(.*?)\}", text, re.S
    )
    assert geo and geo[1].split() == [
        "default",
        "0;",
        "10.0.0.5",
        "1;",
        "10.1.0.0/24",
        "1;",
    ]
    assert '"~^1:(?<proto>https?)$" $proto;' in text
    assert "default $scheme;" in text
    assert "proxy_set_header X-Forwarded-Proto $ublog_forwarded_proto;" in text
    # Everywhere else nginx's own scheme, whatever the client sends.
    for spec in (SiteSpec(), SiteSpec(role="app"), SiteSpec(tls=PAIR)):
        assert "$http_x_forwarded_proto" not in render(spec)


def test_a_tls_balancer_passes_its_scheme_on():
    text = render(SiteSpec(role="lb", app_servers=("10.0.0.11:80",), tls=PAIR))
    plain, secure = servers(text)
    assert "proxy_pass http://ublog_app_servers;" in plain  # /healthz
    assert "return 301 https://$host$request_uri;" in plain
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in secure
    assert "ssl_certificate /etc/ssl/site.pem;" in secure


# -- [tls] in ublog.conf ---------------------------------------------------------


SECRET = "x" * 50


@pytest.fixture
def load(write_config, tmp_path, clean_env):
    """Load ``text`` (a secret key added) as the configuration."""

    def load_text(text: str):
        text = f"[ublog]\nsecret_key = {SECRET}\n" + text.replace("[ublog]\n", "")
        environ = {"UBLOG_CONFIG": str(write_config(text))}
        return load_config(environ, system_config=tmp_path / "none")

    return load_text


def test_https_follows_the_tls_mode_unless_set(load):
    assert load("")["ublog", "https"] is False
    config = load("[tls]\nmode = self-signed\n")
    assert config["ublog", "https"] is True
    config = load("[ublog]\nhttps = true\nrole = app\n")
    assert config["ublog", "https"] is True


def test_the_host_name_is_allowed(load):
    config = load("[ublog]\nhost_name = Blog.Example.org.\n")
    assert config["ublog", "host_name"] == "blog.example.org"
    assert config["ublog", "allowed_hosts"][0] == "blog.example.org"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[ublog]\nhost_name = blog example\n", "is not a host name"),
        ("[ublog]\nhost_name = -x.org\n", "is not a host name"),
        ("[tls]\nmode = files\n", "mode = files needs [tls] certificate"),
        ("[tls]\nmode = files\ncertificate = /c.pem\n", "needs [tls] key"),
        ("[tls]\nmode = acme\n", "mode = acme needs [ublog] host_name"),
        ("[tls]\nmode = letsencrypt\n", "'letsencrypt' is not one of"),
        ("[ublog]\nrole = app\n[tls]\nmode = self-signed\n", "TLS belongs"),
    ],
)
def test_tls_mistakes_are_named(load, text, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(text)


def test_files_mode_refuses_missing_files(load, tmp_path):
    cert = tmp_path / "c.pem"
    config = load(
        f"[tls]\nmode = files\ncertificate = {cert}\nkey = {tmp_path / 'k.pem'}\n",
    )
    with pytest.raises(AdminError, match="c.pem does not exist"):
        tls.files_of(config)
    cert.write_text("x")
    with pytest.raises(AdminError, match="k.pem does not exist"):
        tls.files_of(config)


def test_acme_asks_again_for_a_new_name_or_server(load, tmp_path, monkeypatch):
    live = tmp_path / "live"
    live.mkdir()
    monkeypatch.setattr(tls, "ACME", Tls(str(live / "c"), str(live / "k")))
    monkeypatch.setattr(tls, "ACME_RECORD", tmp_path / ".acme")
    config = load(
        "[ublog]\nhost_name = blog.example.org\nadmins = Jane <jane@example.org>\n"
        "[tls]\nmode = acme\nacme_server = https://acme.test/dir\n",
    )
    acme = tls.acme_of(config)
    assert acme == tls.Acme(
        "blog.example.org", "https://acme.test/dir", "jane@example.org"
    )
    assert tls.acme_needed(acme)  # no certificate yet
    (live / "c").write_text("x")
    (live / "k").write_text("x")
    assert tls.acme_needed(acme)  # one, but not recorded as this name's
    tls.ACME_RECORD.write_text(acme.record)
    assert not tls.acme_needed(acme)
    assert tls.acme_needed(tls.Acme("new.example.org", acme.server, ""))
    assert tls.acme_needed(tls.Acme(acme.host_name, "https://other/dir", ""))


def test_an_edited_site_of_an_earlier_version_is_kept_aside(nginx_tree):
    nginx = nginx_tree(enabled=False)
    old = nginx.available / "ublog"
    old.write_text("server { client_max_body_size 20m; }\n")
    changed = nginx.configure(SiteSpec())
    kept = nginx.available / "ublog.dpkg-old"
    assert f"kept the earlier {old} as {kept}" in changed[2]
    assert kept.read_text() == "server { client_max_body_size 20m; }\n"
    assert old.read_text().startswith(GENERATED)
    assert nginx.configure(SiteSpec()) == []  # its own file: rewritten in place


def test_el_keeps_its_edited_server_as_rpmsave(nginx_tree):
    nginx = nginx_tree(layout="el")
    (nginx.conf_d / "ublog.conf").write_text("server {}\n")
    nginx.configure(SiteSpec())
    assert (nginx.conf_d / "ublog.conf.rpmsave").read_text() == "server {}\n"
    assert nginx.disable(reload=False) == [f"removed {nginx.conf_d}/ublog.conf"]


def test_the_micro_cache_keeps_only_what_django_marks():
    text = render(SiteSpec(host_name="blog.example.org"))
    assert "proxy_cache_path /var/cache/ublog " in text
    (server,) = servers(text)
    (page,) = re.findall(r"location / \{\n.*?\n    \}", server, flags=re.S)
    assert "proxy_cache ublog_pages;" in page
    # Only X-Accel-Expires decides; the visitor's own pages are never used
    # or stored.
    assert "proxy_ignore_headers Cache-Control Expires Vary;" in page
    assert "proxy_cache_valid" not in text
    assert "proxy_cache_bypass $ublog_personal $ublog_other_page;" in page
    assert "proxy_no_cache $ublog_personal $ublog_other_page;" in page
    assert '"~^/(?:[0-9]+/)?$" 0;' in text
    assert '"~(^|;)\\s*(sessionid|messages)=" 1;' in text
    assert "proxy_cache_lock on;" in page
    assert "proxy_cache_use_stale updating;" in page
    # A refresh in the background would keep serving a deleted post's page.
    assert "proxy_cache_background_update" not in page
    assert "proxy_cache_key $scheme://$host$request_uri;" in page
    # Static files and media are nginx's own files: no cache in front.
    assert server.count("proxy_cache ") == 1


def test_an_app_host_keys_its_cache_by_the_scheme_its_balancer_saw():
    text = render(SiteSpec(role="app", load_balancers=("10.0.0.2",)))
    assert "proxy_cache_key $ublog_forwarded_proto://$host$request_uri;" in text


def test_no_micro_cache_on_a_balancer_or_when_turned_off():
    balancer = render(SiteSpec(role="lb", app_servers=("10.0.0.11:80",)))
    assert "proxy_cache" not in balancer
    assert "proxy_cache" not in render(SiteSpec(page_cache=False))


def test_disabling_the_site_removes_the_page_cache(nginx_tree):
    nginx = nginx_tree()
    cache = nginx.page_cache
    (cache / "a" / "bc").mkdir(parents=True)
    (cache / "a" / "bc" / "page").write_text("a cached page")
    assert f"removed the page cache {cache}" in nginx.disable(reload=False)
    assert not cache.exists()
