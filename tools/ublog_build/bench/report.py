"""The bench's table (Markdown): builds, sizes, install, serving, each with
what it is compared against."""

from __future__ import annotations

#: The serving measurements, in the order of the table and the chart.
SERVE_LABELS = {
    "static": "static file (site.css), nginx",
    "list": "post list, nginx → gunicorn ({workers} workers) → PostgreSQL",
    "list_untuned": "post list, before tuning (no list cache, conn_max_age 0)",
    "detail": "post detail, nginx → gunicorn → PostgreSQL",
    "detail_untuned": "post detail, before tuning (conn_max_age 0)",
    "runserver": "post list, `ublog-ctl runserver`",
    "gunicorn1": "post list, 1 sync gunicorn worker (default deployment)",
}


def mb(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"


def ms(value: float) -> str:
    return f"{value * 1e3:.1f} ms" if value >= 1e-3 else f"{value * 1e6:.0f} µs"


def table(b: dict, f: dict) -> str:
    """``b``: the builds' figures; ``f``: the testbed's."""
    rows = [
        ("build: 3 sdists + wheels (`ublog-build python`)", f"{b['python']:.1f} s", ""),
        ("build: `ublog-build wheelhouse`", f"{b['wheelhouse']:.1f} s", ""),
        (
            "build: `ublog-build host-deb` (dh-virtualenv)",
            f"{b['deb']:.1f} s",
            f"bare dh-virtualenv of the same pins: {b['bare']:.1f} s "
            f"(ratio {b['deb'] / b['bare']:.2f}×)",
        ),
    ]
    for path in b["dists"]:
        rows.append((f"size: `{path.name}`", mb(path.stat().st_size), ""))
    rows += [
        (
            f"size: `{b['deb_path'].name}`",
            mb(b["deb_path"].stat().st_size),
            f"bare .deb: {mb(b['bare_path'].stat().st_size)}",
        ),
        (
            "size: .deb installed (Installed-Size)",
            f"{b['installed_kib'] / 1024:.1f} MiB",
            f"/opt/venvs/ublog on disk: {f['venv_kib'] / 1024:.1f} MiB",
        ),
        (
            "install: `apt-get install ublog` → first HTTP 200",
            f"{f['install']:.1f} s",
            f"of which apt-get: {f['apt']:.1f} s (local repo, booted nspawn root)",
        ),
    ]
    serve = f["serve"]
    ceiling = serve["static"]["rps"]
    compare = {
        "static": "the ceiling",
        "list": f"{serve['list']['rps'] / ceiling:.1%} of the ceiling",
        "list_untuned": f"{serve['list_untuned']['rps'] / ceiling:.1%} of the "
        f"ceiling; tuned: {serve['list']['rps'] / serve['list_untuned']['rps']:.1f}×",
        "detail": f"{serve['detail']['rps'] / ceiling:.1%} of the ceiling",
        "detail_untuned": f"tuned detail: "
        f"{serve['detail']['rps'] / serve['detail_untuned']['rps']:.1f}×",
        "runserver": f"{serve['runserver']['rps'] / serve['list']['rps']:.2f}× "
        "the packaged list",
        "gunicorn1": f"{serve['gunicorn1']['rps'] / serve['list']['rps']:.2f}× "
        "the packaged list",
    }
    for key, label in SERVE_LABELS.items():
        m = serve[key]
        note = compare[key]
        if m["errors"]:
            note += f"; socket errors: {m['errors']}"
        rows.append(
            (
                "serve: " + label.format(workers=f["workers"]),
                f"{m['rps']:,.0f} req/s, p50 {ms(m['p50'])}, p99 {ms(m['p99'])}",
                note,
            )
        )
    lines = [
        "| measured | figure | compared against |",
        "| --- | --- | --- |",
        *(f"| {a} | {b_} | {c} |" for a, b_, c in rows),
    ]
    return "\n".join(lines)
