"""The "next release" the upgrade and cluster tests install over the
current one: a copy of this tree with every version bumped, one new
migration in ublog_posts (an index the old code still serving does not
mind: migrations must stay compatible with the version being replaced) and
a changed template (the site footer names the version).

Built on the host (:func:`ublog_build.deb.host_build`) from a temporary
copy, reusing dist/wheelhouse; the result is dist/next/ublog_<version>_amd64.deb.
"""

import re
import shutil
import tempfile
from pathlib import Path

from . import changelog, deb, dists, paths, releases, run
from .errors import BuildError, MissingInput

log = run.logger("next-version")

#: Where ublog_posts' models declare their indexes, and the one added after.
MODELS = "packages/ublog-posts/src/ublog_posts/models.py"
MIGRATIONS = "packages/ublog-posts/src/ublog_posts/migrations"
INDEX = (
    '            models.Index(fields=["-created", "-id"], '
    'name="ublog_posts_post_created"),\n'
)
NEW_INDEX = (
    '            models.Index(fields=["owner", "-created"], '
    'name="ublog_posts_post_owner"),\n'
)
MIGRATION = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ublog_posts", "{latest}")]

    operations = [
        migrations.AddIndex(
            model_name="post",
            index=models.Index(
                fields=["owner", "-created"], name="ublog_posts_post_owner"
            ),
        ),
    ]
"""
FOOTER = "μblog — short posts, kindly shared."
TEMPLATE = "packages/ublog-site/src/ublog_site/templates/ublog_site/base.html"


def copy_tree(target: Path, root: Path = paths.ROOT) -> None:
    """The source files of ``root`` (no dist/, no venvs, no build leftovers)."""
    for name in paths.source_files(root, root):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target / name, follow_symlinks=False)


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    if old not in text:
        raise BuildError(
            f"{path.name} changed: {old.strip()!r} is gone",
            "update tools/ublog_build/next_version.py",
        )
    path.write_text(text.replace(old, new, count))


def shipped_migrations(migrations: Path) -> list[str]:
    """The names of the migrations in ``migrations``, in order."""
    return sorted(path.stem for path in migrations.glob("[0-9][0-9][0-9][0-9]_*.py"))


def new_migration(migrations: Path) -> tuple[str, str]:
    """The latest migration in ``migrations`` and the one the next version
    adds after it."""
    latest = shipped_migrations(migrations)[-1]
    return latest, f"{int(latest[:4]) + 1:04d}_post_owner_index"


def bump(tree: Path, version: str) -> None:
    """Every version of ``tree``'s packages, a migration and the footer."""
    site = tree / "packages" / "ublog-site" / "pyproject.toml"
    old = re.search(r'^version = "(.*)"', site.read_text(), re.M)[1]
    for pyproject in (tree / "packages").glob("*/pyproject.toml"):
        edit(pyproject, f'\nversion = "{old}"', f'\nversion = "{version}"')
    edit(site, f'=={old}"', f'=={version}"', count=-1)
    edit(tree / TEMPLATE, FOOTER, FOOTER.replace("μblog", f"μblog {version}"))
    edit(tree / MODELS, INDEX, INDEX + NEW_INDEX)
    migrations = tree / MIGRATIONS
    latest, name = new_migration(migrations)
    (migrations / f"{name}.py").write_text(MIGRATION.replace("{latest}", latest))
    changelog.prepend(
        tree / "debian" / "changelog",
        version,
        releases.host().codename,
        "Next release, built by tools/ublog-build next-version for the upgrade test.",
        paths.source_date_epoch(),
    )


def build(version: str = "0.1.1") -> Path:
    """dist/next/ublog_<version>_amd64.deb (made anew each time)."""
    wheelhouse = paths.DIST / "wheelhouse"
    if not any(wheelhouse.glob("*.whl")):
        raise MissingInput(f"no wheels in {wheelhouse}", "make")
    with tempfile.TemporaryDirectory(prefix="ublog-next.") as work:
        tree = Path(work)
        copy_tree(tree)
        shutil.copytree(wheelhouse, tree / "dist" / "wheelhouse")
        bump(tree, version)
        dists.build(tree)
        built = deb.host_build(tree)
        out = paths.DIST / "next"
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.deb"):
            old.unlink()
        shutil.copy2(built, out)
    log.info(f"{out / built.name}")
    return out / built.name
