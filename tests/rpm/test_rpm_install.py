"""`dnf install ublog`, an upgrade and `dnf remove ublog`, for real.

dnf installs from a local createrepo_c repository into a Debian root
(see rpmroot.py) and rpm runs the scriptlets chrooted into it, as in an
image build: no init system runs, so ublog-ctl setup starts the PostgreSQL
cluster itself and stops it again. Checked after each step, inside the root:

* install ($1 = 1): rpm -q, rpm -V, the system user, /etc/ublog/ublog.conf
  (0640 root:ublog, a generated 64-character secret key), the data
  directories, collected static files, the database (role, database,
  migrations applied), `nginx -t` with the conf.d server next to Debian's
  default site, and the venv running (`ublog-ctl checkconfig`);
* upgrade to the next version: the new %post got 2 (it names the replaced
  version and setup backed the database up under that name before
  migrating), the old %postun got 1 (no erase message), the configuration
  and its secret are byte-identical, one version is installed;
* erase ($1 = 0): code, units and the nginx server gone; configuration,
  data, backups, user and database kept; a reinstall then reuses them
  (same secret, no new role or database).

* after the install and after the upgrade, the root is booted (systemd-
  nspawn, the root's layers below an overlay of its own) and the units are
  enabled and started as README.RPM tells an EL admin: the socket with its
  EL drop-in (group nginx), gunicorn with its settings from ublog.conf,
  the mail sender and the clean-up timer; nginx serves the site from the
  server setup wrote in conf.d (not in the root's sites-available).
"""

import re
import time

from rpmroot import debian_equivalent, external_requires, rpm_query, run
from support.figures import report
from support.leftovers import new_name
from support.site import wait_for_200
from support.testbed import Testbed
from support.units import state

#: What an EL host has and this Debian root lacks: nginx running as group
#: nginx (the socket's drop-in names it), no Debian default site.
EL_LIKE = """
getent group nginx >/dev/null || groupadd --system nginx
usermod -a -G nginx www-data
rm -f /etc/nginx/sites-enabled/default
systemctl restart nginx
"""
#: The units an EL admin enables after installing (README.RPM).
ENABLED = [
    "ublog.socket",
    "ublog-mailer.service",
    "ublog-cleanup.timer",
    "ublog-backup.timer",
]

FACTS = r"""
printf 'passwd=%s\n' "$(getent passwd ublog || true)"
for p in /etc/ublog /etc/ublog/ublog.conf /var/lib/ublog /var/lib/ublog/static \
         /var/lib/ublog/media /opt/venvs /usr/sbin/ublog-ctl \
         /usr/lib/systemd/system/ublog.service /usr/lib/systemd/system/ublog.socket \
         /etc/nginx/conf.d/ublog.conf /var/lib/ublog/.rpm-upgrade-from; do
    printf 'stat %s=%s\n' "$p" "$(stat -c '%a %U:%G' "$p" 2>/dev/null || echo absent)"
done
if [ -f /etc/ublog/ublog.conf ]; then
    printf 'conf_sha=%s\n' "$(sha256sum /etc/ublog/ublog.conf | cut -d' ' -f1)"
    printf 'secret=%s\n' "$(sed -n 's/^secret_key = //p' /etc/ublog/ublog.conf)"
fi
admin=no; [ -d /var/lib/ublog/static/admin ] && admin=yes
printf 'static_admin=%s\n' "$admin"
printf 'backups=%s\n' "$(ls /var/backups/ublog 2>/dev/null | tr '\n' ' ')"
"""

# The cluster is down in the chroot (setup stopped it): start it to look.
DATABASE = r"""
cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1 " " $2}')
pg_ctlcluster $cluster start
q() { runuser -u postgres -- psql -XAtc "$1" "${2:-postgres}"; }
printf 'role=%s\n' "$(q "select rolname from pg_roles where rolname='ublog'")"
owner="select pg_get_userbyid(datdba) from pg_database where datname='ublog'"
printf 'db_owner=%s\n' "$(q "$owner")"
printf 'migrations=%s\n' "$(q 'select count(*) from django_migrations' ublog)"
pg_ctlcluster $cluster stop
"""


def facts(root, database=True) -> dict[str, str]:
    out = root.sh(FACTS + (DATABASE if database else "")).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def dnf(root, *args, repo):
    started = time.monotonic()
    result = root.dnf(*args, repo=repo)
    report(f"dnf {' '.join(args)}", f"{time.monotonic() - started:.1f} s")
    return result.stdout + result.stderr


def check_debian_equivalents(root, rpm):
    """What the provides-only RPM claims, dpkg really installed in the root:
    each file, each Debian package, and each library soname the compiled
    modules link to (in the root's ld.so cache, from its Debian package)."""
    checks = []
    for name in sorted(external_requires(rpm)):
        kind, what = debian_equivalent(name)
        if kind == "file":
            checks.append(f"test -e {what} || echo 'missing {name}: {what}'")
        elif kind == "soname":
            checks.append(
                f"path=$(ldconfig -p | awk '$1 == \"{what}\" {{print $NF; exit}}'); "
                'file=$(basename "$(readlink -f "$path")"); '
                f'test -n "$path" && dpkg -S "*/$file" >/dev/null 2>&1 '
                f"|| echo 'missing {name}: no Debian package has {what}'"
            )
        else:
            checks.append(
                f"dpkg-query -W -f '${{Status}}\\n' {what} 2>/dev/null"
                f" | grep -q 'ok installed' || echo 'missing {name}: deb {what}'"
            )
    assert root.sh("\n".join(checks)).stdout == ""


def serves_when_booted(root, workdir, version: str) -> None:
    """Boot the installed root and start the units as an EL admin would;
    the site answers through nginx and gunicorn."""
    lowers = [root.upper, *root.lowers]
    with Testbed(new_name(), None, workdir, lowers=lowers) as tb:
        started = time.monotonic()
        tb.run(EL_LIKE)
        tb.run(["systemctl", "enable", "--now", *ENABLED])
        # The configuration's allowed_hosts were the chroot's names.
        response = wait_for_200(tb, headers={"Host": "localhost"})
        assert response.status == 200, response.text[:2000]
        assert "μblog" in response.text and response.headers["Server"].startswith(
            "nginx"
        )
        report(f"{version}: booted, units started, first 200",
               f"{time.monotonic() - started:.1f} s")  # fmt: skip
        for unit in ENABLED + ["ublog.service"]:
            assert state(tb, unit) == "active", unit
        gunicorn = tb.run(["systemctl", "show", "-P", "ExecStart", "ublog.service"])
        assert "--config python:ublog_site.gunicorn_conf" in gunicorn.stdout
        socket = tb.run(["stat", "-c", "%a %U %G", "/run/ublog.sock"]).stdout.split()
        assert socket == ["660", "root", "nginx"], socket


def test_dnf_install_upgrade_and_erase(rpm_root, repo, dist_rpm, rpm_builds, tmp_path):
    root = rpm_root
    check_debian_equivalents(root, dist_rpm)
    old = rpm_query(dist_rpm, "%{VERSION}-%{RELEASE}")
    new = rpm_query(rpm_builds.upgrade, "%{VERSION}-%{RELEASE}")

    # --- install: %pre/%post with $1 = 1 ---------------------------------------
    out = dnf(root, "install", "ublog-test-dpkg-provides", f"ublog-{old}", repo=repo)
    assert "ublog-ctl setup: done" in out, out[-4000:]
    assert "setup did not complete" not in out
    assert "wrote /etc/ublog/ublog.conf with a newly generated secret key" in out
    assert "created PostgreSQL role ublog" in out
    assert "wrote /etc/nginx/conf.d/ublog.conf" in out  # EL's place
    assert "sites-available" not in out
    assert "upgrading from" not in out and "ublog: removed" not in out
    assert root.rpm("-q", "ublog").stdout.strip() == f"ublog-{old}.x86_64"
    verify = root.rpm("-V", "ublog", check=False)
    assert verify.returncode == 0 and verify.stdout == "", verify.stdout
    size = root.sh("du -sk /opt/venvs/ublog").stdout.split()[0]
    report("installed venv size", f"{int(size) / 1024:.1f} MiB")

    installed = facts(root)
    name, _, uid, gid, _, home, shell = installed["passwd"].split(":")
    assert (name, home, shell) == ("ublog", "/var/lib/ublog", "/sbin/nologin")
    assert int(uid) < 1000, "a system user"
    assert installed["stat /etc/ublog"] == "750 root:ublog"
    assert installed["stat /etc/ublog/ublog.conf"] == "640 root:ublog"
    assert len(installed["secret"]) == 64
    assert installed["stat /var/lib/ublog"] == "755 root:root"
    assert installed["stat /var/lib/ublog/static"].startswith("755 ")
    assert installed["static_admin"] == "yes", "collectstatic ran"
    # The web group: www-data here (Debian's nginx), nginx on EL.
    assert installed["stat /var/lib/ublog/media"] == "2750 ublog:www-data"
    assert installed["stat /etc/nginx/conf.d/ublog.conf"] == "644 root:root"
    assert installed["stat /var/lib/ublog/.rpm-upgrade-from"] == "absent"
    assert installed["role"] == "ublog" and installed["db_owner"] == "ublog"
    assert int(installed["migrations"]) > 10
    assert root.sh("nginx -t 2>&1").returncode == 0
    checked = root.sh("/usr/sbin/ublog-ctl checkconfig").stdout
    assert "configuration ok: /etc/ublog/ublog.conf" in checked
    serves_when_booted(root, tmp_path / "installed", old)

    # --- upgrade: new %pre/%post get 2, old %preun/%postun get 1 -------------
    out = dnf(root, "upgrade", "ublog", repo=repo)
    assert f"ublog: upgrading from {old}\n" in out, out[-4000:]
    assert "backed up the database and media before upgrading" in out
    assert "ublog-ctl setup: done" in out
    assert "setup did not complete" not in out and "ublog: removed" not in out
    assert root.rpm("-q", "ublog").stdout.strip() == f"ublog-{new}.x86_64"
    upgraded = facts(root)
    assert upgraded["conf_sha"] == installed["conf_sha"], "config kept as it was"
    assert upgraded["secret"] == installed["secret"]
    assert upgraded["stat /etc/ublog/ublog.conf"] == "640 root:ublog"
    assert upgraded["stat /var/lib/ublog/.rpm-upgrade-from"] == "absent"
    assert f"-{old}.dump " in upgraded["backups"], upgraded["backups"]
    assert upgraded["migrations"] == installed["migrations"]
    serves_when_booted(root, tmp_path / "upgraded", new)

    # --- erase: %preun/%postun get 0 ---------------------------------------------
    out = dnf(root, "remove", "ublog", repo=repo)
    assert "ublog: removed; kept /etc/ublog" in out, out[-4000:]
    assert root.rpm("-q", "ublog", check=False).returncode == 1
    erased = facts(root)
    for gone in (
        "/opt/venvs",
        "/usr/sbin/ublog-ctl",
        "/usr/lib/systemd/system/ublog.service",
        "/usr/lib/systemd/system/ublog.socket",
        "/etc/nginx/conf.d/ublog.conf",
    ):
        assert erased[f"stat {gone}"] == "absent", gone
    assert erased["conf_sha"] == installed["conf_sha"], "config kept in place"
    assert erased["stat /etc/ublog/ublog.conf"] == "640 root:ublog"
    assert erased["passwd"] == installed["passwd"]
    assert erased["static_admin"] == "yes"
    assert erased["stat /var/lib/ublog/media"] == "2750 ublog:www-data"
    assert erased["backups"] == upgraded["backups"]
    assert erased["role"] == "ublog" and erased["db_owner"] == "ublog"
    assert erased["migrations"] == installed["migrations"]
    assert root.sh("nginx -t 2>&1").returncode == 0

    # --- reinstall on the kept data: nothing regenerated ---------------------------
    out = dnf(root, "install", "ublog", repo=repo)
    assert "ublog-ctl setup: done" in out, out[-4000:]
    assert "secret key" not in out and "created PostgreSQL" not in out
    again = facts(root, database=False)
    assert again["conf_sha"] == installed["conf_sha"]
    assert root.rpm("-q", "ublog").stdout.strip() == f"ublog-{new}.x86_64"


def test_every_scriptlet_branches_on_its_argument_and_exits_0(dist_rpm):
    """Each scriptlet tells the cases apart by $1 (checked above for real) and
    never fails: a failing %pre or %preun would block an install or erase."""
    scripts = run(["rpm", "-qp", "--scripts", str(dist_rpm)]).stdout
    parts = re.split(r"^(\w+) scriptlet \(using /bin/sh\):$", scripts, flags=re.M)
    bodies = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert sorted(bodies) == [
        "postinstall", "postuninstall", "preinstall", "preuninstall",
    ]  # fmt: skip
    for phase, body in bodies.items():
        assert '"$1"' in body, phase
        assert body.strip().splitlines()[-1] == "exit 0", phase
