"""ublog's build pipeline: every step from our wheels to a signed offline
repository, in one package of small modules (standard library only).

* releases: THE release table; paths: where things are; errors, run:
  failing well and running commands;
* chroot: debootstrap once and cache it; control, changelog: debian/ files;
* wheels (our wheels, wheelhouses, the venv's requirements file), dists
  (our sdists and wheels);
* deb (a .deb per release with pbuilder, the quick host build),
  next_version, rpm, repo (+ pylist), app_debs, base_root (test roots),
  pythons (the tox matrix); bench/ (``make bench``);
* cli: ``tools/ublog-build COMMAND``, what the Makefile calls.

Lower modules never import higher ones: releases, errors < paths, run <
chroot, control, changelog, wheels, pylist < dists, deb < the rest < cli.
"""
