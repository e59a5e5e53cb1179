"""What an installed site holds, to compare before and after an upgrade:
row counts (what visitors under load made kept apart) and the media
files' checksums."""

from __future__ import annotations

from support.db import psql
from support.load import POST_TEXT

#: The visitor who logs in and likes during the upgrades under load.
VISITOR = "bob"


def counts(tb) -> str:
    """Posts, likes and users (``posts|likes|users``), without what the
    visitors under load made."""
    sql = (
        "SELECT (SELECT count(*) FROM ublog_posts_post"
        f"   WHERE text NOT LIKE '{POST_TEXT}%'),"
        " (SELECT count(*) FROM ublog_posts_like l JOIN auth_user u"
        f"   ON u.id = l.user_id WHERE u.username <> '{VISITOR}'),"
        " (SELECT count(*) FROM auth_user)"
    )
    return psql(tb, sql, "ublog")


def made_under_load(tb) -> tuple[int, int]:
    """The visitors' posts, and the likes of the one who logged in."""
    sql = (
        "SELECT (SELECT count(*) FROM ublog_posts_post"
        f"   WHERE text LIKE '{POST_TEXT}%'),"
        " (SELECT count(*) FROM ublog_posts_like l JOIN auth_user u"
        f"   ON u.id = l.user_id WHERE u.username = '{VISITOR}')"
    )
    posts, likes = psql(tb, sql, "ublog").split("|")
    return int(posts), int(likes)


def media_sums(tb) -> str:
    """``sha256sum`` of every media file, sorted by path."""
    out = tb.run(
        "cd /var/lib/ublog/media && find . -type f | sort | xargs -r sha256sum"
    )
    return out.stdout
