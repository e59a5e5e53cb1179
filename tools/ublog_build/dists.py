"""Our sdists and wheels (``make python``): byte-reproducible with hatchling
and SOURCE_DATE_EPOCH, with a SHA256SUMS next to them."""

import os
import shutil
from pathlib import Path

from . import paths, run
from .wheels import PACKAGES, sha256

log = run.logger("python")


def build(root: Path = paths.ROOT, out: Path | None = None) -> Path:
    """Build every package of ``root``/packages into ``out`` (dist/python)."""
    out = out or root / "dist" / "python"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    venv_bin = paths.tool_python().parent
    env = run.environ(
        PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        PIP_CONFIG_FILE="/dev/null",
        SOURCE_DATE_EPOCH=str(paths.source_date_epoch(root)),
    )
    for package in PACKAGES:
        run.run(
            [paths.tool_python(), "-m", "build", "--quiet", "--installer", "uv"]
            + ["--outdir", out, root / "packages" / package],
            env=env,
            what=f"building {package}",
        )
    built = sorted(out.glob("*.whl")) + sorted(out.glob("*.tar.gz"))
    (out / "SHA256SUMS").write_text("".join(f"{sha256(p)}  {p.name}\n" for p in built))
    log.info(f"{out}: {', '.join(p.name for p in built)}")
    return out
