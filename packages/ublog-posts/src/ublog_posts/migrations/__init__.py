"""Database migrations of ublog_posts."""
