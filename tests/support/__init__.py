"""The test-support library: what the install and RPM tests (and
``ublog-build bench``) use, one job a module. No test module imports
another test module; they import these.

Containers and networks:

* :mod:`support.testbed`: boot a Debian root under systemd-nspawn in its own
  network namespace, run commands in it, tear it down;
* :mod:`support.lan`: a bridge joining testbeds, reaching nothing else;
* :mod:`support.leftovers`: testbed names, the mark on every process a
  testbed starts, and what a run may leave behind;
* :mod:`support.teardown`: close what is still up at exit or on a signal;
* :mod:`support.rootfs`: a base-root tarball unpacked once, for overlays;
* :mod:`support.host`: host commands, tools and prerequisites;
* :mod:`support.errors`: the harness's errors.

Talking to the installed site:

* :mod:`support.httpclient`: cookies, CSRF, forms, multipart uploads, raw
  requests;
* :mod:`support.site`: what a visitor does (first 200, login, post, like);
* :mod:`support.load`: visitors under load during an upgrade, counted;
* :mod:`support.localrepo`: install .debs from a local apt repository;
* :mod:`support.db`: psql and the site's Django inside a testbed;
* :mod:`support.units`: systemd unit states and security exposure;
* :mod:`support.smtp_sink`: an SMTP server keeping what the site mails.

And: :mod:`support.images` (real PNGs), :mod:`support.figures` (the
``[figure]`` lines), :mod:`support.artifacts` (built .debs and base roots,
through ``ublog_build``).
"""
