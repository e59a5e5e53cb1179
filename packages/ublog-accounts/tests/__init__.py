"""Tests of ublog_accounts, run against the installed package."""
