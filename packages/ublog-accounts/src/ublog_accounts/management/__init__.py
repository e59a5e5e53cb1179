"""Management commands of ublog_accounts."""
