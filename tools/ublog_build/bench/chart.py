"""The chart of the serving figures (matplotlib, which only the tool venv
has): ``python -m ublog_build.bench.chart SERVE.json OUT.png``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ublog_build.bench.report import SERVE_LABELS

#: The bars' short names, by load (report.SERVE_LABELS gives the order).
NAMES = {"static": "static\n(nginx)", "not_found": "404\n(Django)",
         "not_found_signed": "404\nsigned in", "list": "list\ncached",
         "detail": "post\ncached", "list_uncached": "list\nuncached",
         "detail_uncached": "post\nuncached", "list_signed": "list\nsigned in",
         "detail_signed": "post\nsigned in"}  # fmt: skip


def draw(serve: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(SERVE_LABELS)
    names = [NAMES[key] for key in keys]
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 4.8))
    bars = left.bar(names, [serve[k]["rps"] for k in keys], color="#3b5bdb")
    left.bar_label(bars, fmt="{:,.0f}", fontsize=8)
    left.set_yscale("log")
    left.set_ylabel("requests/s (log)")
    left.set_title("Throughput (wrk -t2 -c32 -d5s)")
    width = 0.38
    xs = range(len(keys))
    right.bar([x - width / 2 for x in xs], [serve[k]["p50"] * 1e3 for k in keys],
              width, label="p50", color="#2b8a3e")  # fmt: skip
    right.bar([x + width / 2 for x in xs], [serve[k]["p99"] * 1e3 for k in keys],
              width, label="p99", color="#c92a2a")  # fmt: skip
    right.set_xticks(list(xs), names)
    right.set_yscale("log")
    right.set_ylabel("latency, ms (log)")
    right.set_title("Latency")
    right.legend()
    for axis in (left, right):
        axis.tick_params(axis="x", labelsize=8)
    fig.suptitle("μblog serving, host → container over a veth (2 cores shared)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
