"""``tools/ublog-build COMMAND``: the pipeline's steps, as the Makefile
calls them.

Progress goes to stderr; a command that builds something prints its path
(or paths) on stdout, last. An expected failure prints one line with a hint
and exits with status 1.
"""

import argparse
import dataclasses
import importlib
import sys
from pathlib import Path

from . import paths, releases
from .errors import BuildError

#: What ``releases --field`` knows besides a release's own fields.
TABLE_FIELDS = {
    "rpm-python": lambda: releases.RPM_PYTHON,
    "supported-pythons": lambda: " ".join(releases.SUPPORTED_PYTHONS),
    "codenames": lambda: " ".join(r.codename for r in releases.RELEASES),
}
RELEASE_FIELDS = [f.name for f in dataclasses.fields(releases.Release)] + [
    "version_suffix",
    "python_abi",
    "label",
]


def module(name: str):
    """``ublog_build.<name>``, imported when a command needs it."""
    return importlib.import_module(f"ublog_build.{name}")


def chosen(args) -> list[releases.Release]:
    if args.release:
        return [releases.lookup(args.release)]
    return list(releases.RELEASES)


# -- the commands: each one's docstring is its help -------------------------------


def cmd_releases(args):
    """print the release table, or one field of it"""
    if args.field in TABLE_FIELDS:
        return TABLE_FIELDS[args.field]()
    field = (args.field or "").replace("-", "_")
    if field and field not in RELEASE_FIELDS:
        known = ", ".join(sorted(RELEASE_FIELDS + list(TABLE_FIELDS)))
        raise BuildError(f"no field {args.field!r}", f"known: {known}")
    if field:
        return [getattr(release, field) for release in chosen(args)]
    return [
        f"{r.codename}\t{r.number}\t{r.python}\t{r.postgresql}\t{r.version_suffix}"
        for r in chosen(args)
    ]


def cmd_epoch(args):
    """print SOURCE_DATE_EPOCH (the environment's, or the last commit's time)"""
    return paths.source_date_epoch()


def cmd_check_pythons(args):
    """fail unless every Python of the tox matrix is on PATH"""
    module("pythons").check()


def cmd_lock(args):
    """re-pin requirements/deb.in into requirements/deb.txt"""
    module("wheels").lock()


def cmd_python(args):
    """our sdists and wheels, into dist/python"""
    return module("dists").build()


def cmd_wheelhouse(args):
    """the pinned dependency wheels of one CPython (default: the RPM's)"""
    python = args.python or (
        releases.lookup(args.release).python if args.release else releases.RPM_PYTHON
    )
    return module("wheels").wheelhouse(python, args.out or paths.DIST / "wheelhouse")


def cmd_deb(args):
    """the .deb of each release, built with pbuilder in a clean chroot"""
    return module("deb").build(chosen(args), args.out or paths.DIST / "deb")


def cmd_host_deb(args):
    """the quick .deb build on the host (dh-virtualenv, in the work tree)"""
    return module("deb").host_build(out=args.out)


def cmd_next_version(args):
    """the next release's .deb for the upgrade tests, into dist/next"""
    return module("next_version").build(args.version)


def cmd_rpm(args):
    """the .rpm, into dist/rpm (after filling dist/wheelhouse)"""
    if not args.no_wheelhouse:
        module("wheels").wheelhouse(releases.RPM_PYTHON, paths.DIST / "wheelhouse")
    return module("rpm").build(args.version, args.rpm_release, args.out)


def cmd_repo(args):
    """dist/repo: the offline apt, PEP 503 and RPM repository"""
    return module("repo").build(refresh=args.refresh)


def cmd_upgrade_closure(args):
    """the Debian packages a host with ublog upgrades to the next release from"""
    return module("upgrade_closure").build(refresh=args.refresh)


def cmd_app_debs(args):
    """the per-app Debian packages, into dist/debian-apps"""
    if args.minbase:
        return module("app_debs").minbase()
    return module("app_debs").build()


def cmd_base_root(args):
    """the cached bootable test root of a release (its tarball's path)"""
    return module("base_root").build(args.release, args.prefetch.split())


def cmd_bench(args):
    """build, size, install and serving figures: dist/bench.md, dist/bench.png"""
    status = module("bench").main(args.rest)
    if status:
        raise BuildError(f"bench failed (exit status {status})")


# -- the parser --------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ublog-build", description=__doc__)
    top.formatter_class = argparse.RawDescriptionHelpFormatter
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    subs = {}
    for name, function in globals().items():
        if name.startswith("cmd_"):
            command = name.removeprefix("cmd_").replace("_", "-")
            sub = commands.add_parser(command, help=function.__doc__)
            sub.set_defaults(run=function)
            subs[command] = sub

    subs["releases"].add_argument("--field", metavar="F", help="e.g. python")
    for command in ("releases", "wheelhouse", "deb"):
        subs[command].add_argument(
            "--release", metavar="CODENAME", help="one release (or its number)"
        )
    subs["wheelhouse"].add_argument("--python", metavar="X.Y", help="that CPython")
    for command in ("wheelhouse", "deb", "host-deb", "rpm"):
        subs[command].add_argument("--out", type=Path, metavar="DIR")
    subs["next-version"].add_argument("version", nargs="?", default="0.1.1")
    rpm = subs["rpm"]
    rpm.add_argument("--version", help="default: the ublog-site wheel's")
    rpm.add_argument("--rpm-release", metavar="N", help="default: 1")
    rpm.add_argument(
        "--no-wheelhouse", action="store_true", help="use dist/wheelhouse as it is"
    )
    subs["repo"].add_argument(
        "--refresh", action="store_true", help="recompute the closures (network)"
    )
    subs["upgrade-closure"].add_argument(
        "--refresh", action="store_true", help="recompute it (network)"
    )
    subs["app-debs"].add_argument(
        "--minbase", action="store_true", help="only their release's minbase tarball"
    )
    base_root = subs["base-root"]
    base_root.add_argument("--release", default="host", metavar="CODENAME")
    base_root.add_argument("--prefetch", default="", metavar="'PKG ...'")
    subs["bench"].add_argument("rest", nargs=argparse.REMAINDER)
    return top


def show(result) -> None:
    """A command's result on stdout, one item a line."""
    if isinstance(result, list | tuple):
        for item in result:
            show(item)
    elif result is not None:
        print(result)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        show(args.run(args))
    except BuildError as error:
        sys.stdout.flush()
        if error.details:
            print(error.details, file=sys.stderr)
        print(f"ublog-build {args.command}: error: {error}", file=sys.stderr)
        return 1
    except releases.UnknownRelease as error:
        print(f"ublog-build {args.command}: error: {error.args[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
