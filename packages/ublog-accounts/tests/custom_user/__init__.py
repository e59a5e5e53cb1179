"""A test app with a custom user model whose USERNAME_FIELD is the e-mail."""
