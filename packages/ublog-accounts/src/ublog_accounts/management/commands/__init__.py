"""Management commands of ublog_accounts: ``deleteexpiredsignups``."""
