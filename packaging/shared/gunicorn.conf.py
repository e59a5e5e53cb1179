"""gunicorn settings of the packaged ublog service (ublog.service).

Installed by the .deb (a conffile) and the RPM (%config(noreplace)) as
/etc/ublog/gunicorn.conf.py, where ublog.service reads it: edit it, then
`systemctl reload ublog`.

The listening socket comes from systemd (ublog.socket, /run/ublog.sock), so a
restart or reload never refuses a connection. Workers default to 2 * cores + 1,
overridable with UBLOG_WORKERS in the unit's environment.
"""

import multiprocessing
import os

bind = "unix:/run/ublog.sock"
workers = int(os.environ.get("UBLOG_WORKERS", 2 * multiprocessing.cpu_count() + 1))
worker_tmp_dir = "/dev/shm"
timeout = 30
graceful_timeout = 25
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = "*"
proxy_allow_ips = "*"
