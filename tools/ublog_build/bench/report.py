"""The bench's table (Markdown): builds, sizes, install, serving, each with
what it is compared against."""

from __future__ import annotations

#: The serving measurements, in the order of the table and the chart.
SERVE_LABELS = {
    "static": "static file (site.css), nginx",
    "not_found": "Django's 404, nginx → gunicorn ({workers} workers)",
    "not_found_signed": "Django's 404, signed in (session and user read)",
    "list": "post list, anonymous (nginx's micro-cache)",
    "detail": "post page, anonymous (nginx's micro-cache)",
    "list_uncached": "post list, anonymous, micro-cache off",
    "detail_uncached": "post page, anonymous, micro-cache off",
    "list_signed": "post list, signed in (never cached)",
    "detail_signed": "post page, signed in (never cached)",
}
#: The goals (issue 20): the load, the one it is measured against, the share.
#: The signed-in pages are also shown against the signed-in 404 (the same
#: visitor's floor: the session and the user read), which is not a goal.
GOALS = {
    "list": ("static", 0.30),
    "detail": ("static", 0.30),
    "list_signed": ("not_found", 0.60),
    "detail_signed": ("not_found", 0.80),
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
    for key, label in SERVE_LABELS.items():
        m = serve[key]
        note = (
            "the ceiling" if key == "static" else f"{m['rps'] / ceiling:.1%} of static"
        )
        if key in GOALS:
            against, share = GOALS[key]
            reached = m["rps"] / serve[against]["rps"]
            verdict = "met" if reached >= share else "NOT met"
            note += (
                f"; {reached:.0%} of {'static' if against == 'static' else '404'} "
                f"(goal ≥ {share:.0%}: {verdict})"
            )
            if key.endswith("_signed"):
                floor = m["rps"] / serve["not_found_signed"]["rps"]
                note += f"; {floor:.0%} of the signed-in 404"
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
