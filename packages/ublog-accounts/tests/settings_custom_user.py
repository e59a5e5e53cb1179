"""The test project with AUTH_USER_MODEL = custom_user.EmailUser."""

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.custom_user"]  # noqa: F405
AUTH_USER_MODEL = "custom_user.EmailUser"
