"""The μblog site: settings, URLs and templates composing ublog-posts and
ublog-accounts, plus the ``ublog-ctl`` admin command."""
