"""ublog_accounts: sign-up with e-mail activation, login and logout for Django."""
