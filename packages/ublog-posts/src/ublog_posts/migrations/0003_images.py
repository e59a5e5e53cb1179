"""Images re-encoded on upload: the author's description of the image, the
stored image's dimensions, and a thumbnail for lists with its dimensions.

Images stored before have no thumbnail until ``manage.py processimages``
re-encodes them (ublog-ctl setup runs it). On PostgreSQL the NOT NULL
columns also get a default in the database (see ``ublog_posts.db_defaults``).
"""

from django.db import migrations, models

import ublog_posts.models
from ublog_posts.db_defaults import keep_defaults


def dimension():
    return models.PositiveIntegerField(blank=True, editable=False, null=True)


class Migration(migrations.Migration):
    dependencies = [
        ("ublog_posts", "0002_moderation"),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="image_alt",
            field=models.CharField(
                blank=True,
                help_text=(
                    "What the image shows, for people who cannot see it (read "
                    "aloud by screen readers, shown when the image does not load)."
                ),
                max_length=250,
                verbose_name="image description",
            ),
        ),
        migrations.AddField(model_name="post", name="image_width", field=dimension()),
        migrations.AddField(model_name="post", name="image_height", field=dimension()),
        migrations.AddField(
            model_name="post",
            name="thumbnail",
            field=models.ImageField(
                blank=True,
                editable=False,
                upload_to=ublog_posts.models.post_thumbnail_upload_to,
                verbose_name="thumbnail",
            ),
        ),
        migrations.AddField(
            model_name="post", name="thumbnail_width", field=dimension()
        ),
        migrations.AddField(
            model_name="post", name="thumbnail_height", field=dimension()
        ),
        keep_defaults("ublog_posts_post", {"image_alt": "", "thumbnail": ""}),
    ]
