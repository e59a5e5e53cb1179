"""Signal handlers: remove a post's image files once the post is deleted;
forget cached list pages when posts or likes change (not when a new post
waits for moderation: nobody else sees it yet)."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from . import list_cache


def delete_file_on_commit(storage, name, using=None):
    """Delete *name* from *storage* after the current transaction commits, so a
    rollback never leaves a post without its image."""
    if name:
        transaction.on_commit(lambda: storage.delete(name), using=using)


def delete_post_image(sender, instance, using, **kwargs):
    """The image and its thumbnail go with the post."""
    storage = instance.image.storage
    for name in instance.image_files():
        delete_file_on_commit(storage, name, using)


def invalidate_list_on_post_save(sender, instance, created, using=None, **kwargs):
    """A new post waiting for moderation changes no list page: the cache is
    kept (a flood of such posts must not empty it); any other save of a post,
    publishing it for one, forgets the cached pages."""
    if created and not instance.is_published:
        return
    list_cache.invalidate_on_commit(sender, using=using)


def connect():
    from .models import Like, Post

    post_delete.connect(
        delete_post_image, sender=Post, dispatch_uid="ublog_posts.delete_post_image"
    )
    post_save.connect(
        invalidate_list_on_post_save,
        sender=Post,
        dispatch_uid="ublog_posts.list_cache.save.Post",
    )
    receivers = [(post_delete, Post), (post_save, Like), (post_delete, Like)]
    for signal, model in receivers:
        signal.connect(
            list_cache.invalidate_on_commit,
            sender=model,
            dispatch_uid=f"ublog_posts.list_cache.{signal_name(signal)}.{model.__name__}",
        )


def signal_name(signal):
    return "save" if signal is post_save else "delete"
