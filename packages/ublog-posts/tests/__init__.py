"""Tests of ublog_posts, run against the installed package."""
