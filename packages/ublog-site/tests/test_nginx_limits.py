"""nginx's flood limits as `ublog-ctl setup` writes them from [limits].

nginx itself runs them in tests/install (test_limits): here, what is
written, the client key's regular expression (nginx's PCRE and Python's re
agree on it), and that every site uses them.
"""

import re

import pytest

from ublog_site.system.nginx import (
    LIMITS_HTTP,
    LIMITS_SERVER,
    Limits,
    client_key_map,
    limits_http,
    limits_server,
)
from ublog_site.system.nginx_site import SiteSpec


def client_key(ipv6_prefix: int, address: str) -> str:
    """What ``$ublog_client`` is for ``address`` (``binary`` for the
    default: the whole address)."""
    for pattern in re.findall(r'"~(.*)" \$1;', client_key_map(ipv6_prefix)):
        match = re.search(pattern, address)
        if match:
            return match[1]
    return "binary"


@pytest.mark.parametrize(
    "address, key",
    [
        ("2001:db8:1:2:a:b:c:d", "2001:db8:1:2"),
        ("2001:db8:1:2::10", "2001:db8:1:2"),
        ("fd15:15:0:1::a", "fd15:15:0:1"),
        # nginx cannot mask: a prefix with "::" in it counts per address.
        ("2001:db8::1", "binary"),
        ("192.0.2.7", "binary"),
        ("::1", "binary"),
    ],
)
def test_an_ipv6_client_is_keyed_by_its_64(address, key):
    assert client_key(64, address) == key


def test_other_prefixes_and_unmaskable_ones():
    assert client_key(48, "2001:db8:1:2::10") == "2001:db8:1"
    assert client_key(60, "2001:db8:1:2::10") == "binary"
    assert client_key(128, "2001:db8:1:2::10") == "binary"


def test_the_zones_and_their_use():
    limits = Limits(post_rate="5r/s", post_burst=7, connections=9)
    zones = limits_http(limits)
    assert "limit_req_zone $ublog_post_client zone=ublog_posts:10m rate=5r/s;" in zones
    assert "limit_conn_zone $ublog_client zone=ublog_clients:10m;" in zones
    # Only POSTs count against the request rate.
    assert re.search(r"POST \$ublog_client;\s+default \"\";", zones)
    server = limits_server(limits)
    assert "limit_req zone=ublog_posts burst=7 nodelay;" in server
    assert "limit_conn ublog_clients 9;" in server
    assert "limit_req_status 429;" in server and "limit_conn_status 429;" in server
    assert "add_header Retry-After 1 always;" in server
    assert "return 429 '<!doctype html>" in server


def test_retry_after_follows_the_rate():
    assert Limits(post_rate="10r/s").retry_after == 1
    assert Limits(post_rate="20r/m").retry_after == 3
    assert Limits(post_rate="1r/m").retry_after == 60


def test_limits_can_be_turned_off_one_by_one():
    off = Limits(post_rate=None, connections=None)
    assert "limit_req" not in limits_http(off) + limits_server(off)
    assert "limit_conn" not in limits_http(off) + limits_server(off)
    assert "error_page 429" in limits_server(off)  # Django's 429 stays Django's
    no_conn = Limits(connections=None)
    assert "limit_req zone" in limits_server(no_conn)
    assert "limit_conn" not in limits_server(no_conn)


def test_setup_writes_both_files_once(nginx_tree):
    nginx = nginx_tree()
    changed = nginx.configure(SiteSpec(), Limits(post_burst=3))
    assert changed[:2] == [
        f"wrote {nginx.snippets / LIMITS_HTTP}",
        f"wrote {nginx.snippets / LIMITS_SERVER}",
    ]
    assert "burst=3" in (nginx.snippets / LIMITS_SERVER).read_text()
    assert nginx.configure(SiteSpec(), Limits(post_burst=3)) == []
    assert nginx.configure(SiteSpec(), Limits(post_burst=4)) == [
        f"wrote {nginx.snippets / LIMITS_SERVER}"
    ]


def test_the_rpms_server_in_conf_d_gets_them_too(nginx_tree):
    nginx = nginx_tree(layout="el")
    assert len(nginx.configure(SiteSpec())) == 3
    assert (nginx.snippets / LIMITS_HTTP).is_file()
    server = (nginx.conf_d / "ublog.conf").read_text()
    assert "include /etc/ublog/nginx.d/*.conf;" in server


def test_no_nginx_no_limits(nginx_tree):
    nginx = nginx_tree(layout="none")
    assert nginx.configure(SiteSpec()) == []
    assert not nginx.snippets.exists()


@pytest.mark.parametrize("role", ["all-in-one", "app", "lb"])
def test_every_site_includes_the_limits(nginx_tree, role):
    nginx = nginx_tree()
    nginx.configure(SiteSpec(role=role, app_servers=("10.0.0.11:80",)))
    site = nginx.site_path.read_text()
    assert site.index("include /etc/ublog/nginx.d/*.http;") < site.index("server {")
    assert "include /etc/ublog/nginx.d/*.conf;" in site
    assert (nginx.snippets / LIMITS_SERVER).is_file()
