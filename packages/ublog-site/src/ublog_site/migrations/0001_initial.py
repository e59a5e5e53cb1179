"""The retry schedule of queued mail (ublog_site.models.MailRetry)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("mailer", "0007_alter_messagelog_message_data"),
    ]

    operations = [
        migrations.CreateModel(
            name="MailRetry",
            fields=[
                (
                    "message",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="ublog_retry",
                        serialize=False,
                        to="mailer.message",
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_attempt", models.DateTimeField()),
                ("next_attempt", models.DateTimeField(db_index=True, null=True)),
                ("unreachable", models.BooleanField(default=False)),
                ("failed", models.BooleanField(default=False)),
                ("last_error", models.TextField(blank=True)),
            ],
            options={
                "verbose_name": "mail retry",
                "verbose_name_plural": "mail retries",
            },
        ),
    ]
