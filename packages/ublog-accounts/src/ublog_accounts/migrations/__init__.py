"""Database migrations of ublog_accounts."""
