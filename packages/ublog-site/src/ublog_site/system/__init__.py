"""Admin verbs that act on the operating system: setup, unsetup, status,
backup, restore and checkconfig.

``ublog-ctl`` runs them without loading Django settings (the configuration
may not exist yet); they call ``ublog-ctl`` again, as the right user, for the
Django parts (migrate, collectstatic). Both the .deb and the .rpm maintainer
scripts call them, so the packaging logic lives, and is tested, here.
"""
