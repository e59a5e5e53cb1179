"""Rate-limit counters of the database backend (ublog_site.models.RateCounter)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ublog_site", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                (
                    "key",
                    models.CharField(max_length=250, primary_key=True, serialize=False),
                ),
                ("value", models.BigIntegerField()),
                ("expires", models.DateTimeField(db_index=True)),
            ],
            options={
                "verbose_name": "rate counter",
            },
        ),
    ]
