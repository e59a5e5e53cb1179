"""``ublog-ctl showconfig``: print the effective configuration, secrets masked."""

from django.conf import settings
from django.core.management.base import BaseCommand

from ublog_site.config import Config, load_config

MASK = "********"


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


class Command(BaseCommand):
    help = (
        "Show where the ublog configuration comes from and every effective "
        "value (secrets masked), with the origin of each value."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--origins",
            action="store_true",
            help="Show where each value comes from (file:line, $VARIABLE, default).",
        )

    def handle(self, *args, origins=False, **options):
        config = getattr(settings, "CONFIG", None)
        if not isinstance(config, Config):
            config = load_config()
        self.stdout.write(f"# source: {config.source_label}")
        section = None
        for name, key, value, origin, secret in config.items():
            if name != section:
                self.stdout.write(f"\n[{name}]")
                section = name
            shown = MASK if secret and value else _format(value)
            line = f"{key} = {shown}"
            if origins:
                line = f"{line:<48} # {origin}"
            self.stdout.write(line.rstrip())
