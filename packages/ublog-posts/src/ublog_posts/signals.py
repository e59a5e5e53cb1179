"""Signal handlers: remove a post's image file once the post is deleted."""

from django.db import transaction
from django.db.models.signals import post_delete


def delete_file_on_commit(storage, name, using=None):
    """Delete *name* from *storage* after the current transaction commits, so a
    rollback never leaves a post without its image."""
    if name:
        transaction.on_commit(lambda: storage.delete(name), using=using)


def delete_post_image(sender, instance, using, **kwargs):
    if instance.image:
        delete_file_on_commit(instance.image.storage, instance.image.name, using)


def connect():
    from .models import Post

    post_delete.connect(
        delete_post_image, sender=Post, dispatch_uid="ublog_posts.delete_post_image"
    )
