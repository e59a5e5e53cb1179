"""Signal handlers: remove a post's image file once the post is deleted;
forget cached list pages when posts or likes change."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save


def delete_file_on_commit(storage, name, using=None):
    """Delete *name* from *storage* after the current transaction commits, so a
    rollback never leaves a post without its image."""
    if name:
        transaction.on_commit(lambda: storage.delete(name), using=using)


def delete_post_image(sender, instance, using, **kwargs):
    if instance.image:
        delete_file_on_commit(instance.image.storage, instance.image.name, using)


def connect():
    from . import list_cache
    from .models import Like, Post

    post_delete.connect(
        delete_post_image, sender=Post, dispatch_uid="ublog_posts.delete_post_image"
    )
    for model in (Post, Like):
        for signal in (post_save, post_delete):
            signal.connect(
                list_cache.invalidate_on_commit,
                sender=model,
                dispatch_uid=f"ublog_posts.list_cache.{signal_name(signal)}.{model.__name__}",
            )


def signal_name(signal):
    return "save" if signal is post_save else "delete"
