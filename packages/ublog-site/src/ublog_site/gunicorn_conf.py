"""gunicorn's settings for ublog.service, read from /etc/ublog/ublog.conf.

ublog.service starts ``gunicorn --config python:ublog_site.gunicorn_conf``:
the settings an admin may change are ``[server]`` keys of ublog.conf
(``workers``, ``timeout``), so no file under /etc belongs to the package
and an upgrade never asks about one; ``systemctl reload ublog`` applies a
change. The listening socket comes from systemd (ublog.socket,
/run/ublog.sock), so a restart or reload never refuses a connection.
"""

import multiprocessing

from ublog_site.config import load_config

_server = load_config()

bind = "unix:/run/ublog.sock"
workers = _server["server", "workers"] or 2 * multiprocessing.cpu_count() + 1
timeout = _server["server", "timeout"]
graceful_timeout = max(1, timeout - 5)
worker_tmp_dir = "/dev/shm"
# No access log of gunicorn's own: nginx logs every request (with the
# client's real address, and the ones it answers itself); a second line per
# request through journald cost the hot path for nothing.
accesslog = None
errorlog = "-"
# Behind nginx on a unix socket: nginx sets X-Forwarded-For and -Proto
# itself (see ublog_site.system.nginx_site), nobody else reaches gunicorn.
forwarded_allow_ips = "*"
proxy_allow_ips = "*"
