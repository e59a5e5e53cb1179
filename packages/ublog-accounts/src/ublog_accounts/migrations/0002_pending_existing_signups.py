"""Give the sign-ups made before PendingActivation existed a pending row.

Accounts that are inactive, never logged in and not staff are taken for
sign-ups still waiting for activation (``sent_at`` is when they joined), so
that "send the link again" and the daily cleanup work for them too. Their
old activation links (which signed only the username) no longer verify.
Reversing this migration keeps the rows (0001 reversed drops the table).
"""

import secrets

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def create_pending_rows(apps, schema_editor):
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    pending_model = apps.get_model("ublog_accounts", "PendingActivation")
    # The app needs an is_active field; last_login, is_staff and date_joined
    # are optional (AbstractBaseUser has only last_login).
    fields = {field.name for field in user_model._meta.get_fields()}
    users = user_model._default_manager.using(schema_editor.connection.alias)
    users = users.filter(is_active=False).exclude(
        pk__in=pending_model.objects.values("user")
    )
    if "last_login" in fields:
        users = users.filter(last_login__isnull=True)
    if "is_staff" in fields:
        users = users.filter(is_staff=False)
    now = timezone.now()
    pending_model.objects.using(schema_editor.connection.alias).bulk_create(
        pending_model(
            user_id=user.pk,
            nonce=secrets.token_urlsafe(16),
            sent_at=getattr(user, "date_joined", None) or now,
        )
        for user in users.iterator()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("ublog_accounts", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(create_pending_rows, migrations.RunPython.noop),
    ]
