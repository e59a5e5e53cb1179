"""Fixtures of the install tests: built artifacts and base roots (each made
once a run, through the pipeline's API) and testbed names.

A missing artifact, tool or privilege fails the tests loudly; nothing is
skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import artifacts
from support.db import django
from support.host import check_prerequisites
from support.leftovers import new_name
from support.localrepo import install_ublog
from support.site import PASSWORD, wait_for_200
from support.testbed import Testbed
from ublog_build import base_root, deb, next_version
from ublog_build.errors import BuildError
from ublog_build.releases import RELEASES

#: The release the single-release scenarios install (the oldest supported).
OLDEST = RELEASES[0]


def built(make, *args, **kwargs):
    """``make(*args)``, a pipeline build or lookup; its error fails the test."""
    try:
        return make(*args, **kwargs)
    except BuildError as e:
        pytest.fail(f"{e}\n{e.details}" if e.details else str(e))


@pytest.fixture(scope="session")
def release_deb():
    """``release_deb(release)``: the built ublog .deb of ``release`` (the
    oldest by default)."""
    return lambda release=OLDEST: built(deb.release_deb, release)


@pytest.fixture(scope="session")
def roots():
    """``roots(release, *extra)``: a base root of ``release`` with ublog's
    dependencies (and ``extra`` packages) prefetched, made once a run."""
    made = {}

    def root(release, *extra: str) -> Path:
        key = (release, extra)
        if key not in made:
            check_prerequisites()  # fail loudly (never skip) on a host that can't
            made[key] = built(artifacts.ublog_root, release, *extra)
        return made[key]

    return root


@pytest.fixture(scope="session")
def ublog_root(roots) -> Path:
    """The oldest release's root with ublog's dependencies prefetched."""
    return roots(OLDEST)


@pytest.fixture(scope="session")
def plain_root():
    """``plain_root(release)``: the base root of ``release``, nothing
    prefetched."""

    def root(release) -> Path:
        check_prerequisites()
        return built(base_root.build, release)

    return root


@pytest.fixture(scope="session")
def nginx_root() -> Path:
    """A base root with nginx's .debs prefetched (installs need no network)."""
    check_prerequisites()
    return built(base_root.build, OLDEST, prefetch=("nginx",))


@pytest.fixture(scope="session")
def next_deb() -> Path:
    """The next release's .deb for the upgrade and cluster tests, built once
    per run."""
    return built(next_version.build)


#: The shared installation while it runs, and the id of its last test.
_PUBLIC: dict = {}


def pytest_collection_modifyitems(config, items):
    """The tests of the shared installation (:func:`public_site`) run one
    after another, from where the first of them was collected; the
    installation is closed after the last of them (below), not at the end
    of the session: test_testbed checks that nothing is left before that."""
    shared = [item for item in items if "public_site" in item.fixturenames]
    if not shared:
        return
    first = items.index(shared[0])
    chosen = {id(item) for item in shared}
    rest = [item for item in items if id(item) not in chosen]
    items[:] = rest[:first] + shared + rest[first:]
    _PUBLIC["last"] = shared[-1].nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield  # the item's fixtures are torn down (module ones with the last)
    if item.nodeid == _PUBLIC.get("last") and "testbed" in _PUBLIC:
        _PUBLIC.pop("testbed").close()


@pytest.fixture(scope="session")
def public_site(roots, release_deb, tmp_path_factory):
    """ublog of the oldest release installed and serving, with alice and bob
    (active, :data:`PASSWORD`) and eve (signed up, not yet active): the one
    installation test_hostile and test_abuse share (each puts back what it
    changes in the configuration), closed after the last of their tests."""
    with Testbed(
        tarball=roots(OLDEST),
        name=new_name(),
        workdir=tmp_path_factory.mktemp("public"),
    ) as tb:
        install_ublog(tb, release_deb(OLDEST))
        assert wait_for_200(tb).status == 200
        django(
            tb,
            "from django.contrib.auth.models import User\n"
            f"for n in ('alice', 'bob'): User.objects.create_user(n, n + '@ex.org', "
            f"{PASSWORD!r})\n"
            "from ublog_accounts import activation\n"
            "eve = User.objects.create_user('eve', 'eve@ex.org', 'x', "
            "is_active=False)\n"
            "activation.start(eve)",
        )
        _PUBLIC["testbed"] = tb
        yield tb


@pytest.fixture
def bed_args(tmp_path):
    """Keyword arguments for a Testbed: a name unique to this run, a workdir."""
    return {"name": new_name(), "workdir": tmp_path}
