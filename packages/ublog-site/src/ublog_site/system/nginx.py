"""Enable and disable the packaged nginx site (/etc/nginx/sites-*/ublog).

ublog serves on port 80 as the default server, so Debian's stock "default"
site is disabled while ublog is enabled and put back when it is disabled (a
marker file remembers that it was ublog that disabled it).
"""

import os
from pathlib import Path

from .commands import have, run, systemd_running
from .errors import AdminError

SITE = "ublog"


class Nginx:
    def __init__(self, etc: Path = Path("/etc/nginx"), marker: Path | None = None):
        self.available = etc / "sites-available"
        self.enabled = etc / "sites-enabled"
        self.marker = marker or Path("/var/lib/ublog/.nginx-default-disabled")

    @property
    def installed(self) -> bool:
        return (self.available / SITE).is_file()

    def _stock_default_enabled(self) -> bool:
        link = self.enabled / "default"
        return link.is_symlink() and os.readlink(link) in (
            "../sites-available/default",
            str(self.available / "default"),
        )

    def enable(self) -> list[str]:
        """Enable the ublog site; return what changed."""
        if not self.installed:
            return []
        changed = []
        link = self.enabled / SITE
        self.enabled.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(f"../sites-available/{SITE}")
            changed.append("enabled nginx site ublog")
        if self._stock_default_enabled():
            (self.enabled / "default").unlink()
            self.marker.parent.mkdir(parents=True, exist_ok=True)
            self.marker.touch()
            changed.append("disabled nginx site default (ublog is the default server)")
        if changed:
            try:
                self.test()
            except AdminError:
                self.disable(reload=False)
                raise
        return changed

    def disable(self, reload: bool = True) -> list[str]:
        changed = []
        link = self.enabled / SITE
        if link.is_symlink():
            link.unlink()
            changed.append("disabled nginx site ublog")
        if self.marker.exists():
            default = self.enabled / "default"
            if (self.available / "default").exists() and not default.is_symlink():
                default.symlink_to("../sites-available/default")
                changed.append("re-enabled nginx site default")
            self.marker.unlink()
        if changed and reload:
            self.reload()
        return changed

    def test(self) -> None:
        if have("nginx"):
            run(
                ["nginx", "-t", "-q"],
                what="nginx configuration test",
                hint="fix /etc/nginx, then: ublog-ctl setup",
            )

    def reload(self) -> bool:
        """Reload a running nginx (none runs without an init system)."""
        if not systemd_running():
            return False
        return self._reload_running()

    def _reload_running(self) -> bool:  # pragma: no cover (tests/install)
        state = run(["systemctl", "is-active", "nginx"], what="systemctl", check=False)
        if state.returncode != 0:
            return False
        run(["systemctl", "reload", "nginx"], what="reloading nginx")
        return True
