"""``manage.py processimages``: re-encode the images posted before uploads
were re-encoded (``ublog_posts.images``), and make their thumbnails.

A post is processed when it has an image and no thumbnail, each in its own
transaction with its row locked, so that several hosts, or a run beside the
site, never process one twice; an edit made meanwhile wins. The re-encoded
image gets a new name and the old file, with whatever metadata it carried,
is deleted once the transaction commits. An image that cannot be processed
(a broken or refused file, a missing file) is left as it is and named in the
report; the command then exits with status 1, after processing the others.
Running it again does nothing more.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ublog_posts import images
from ublog_posts.models import Post
from ublog_posts.signals import delete_file_on_commit

#: The columns :meth:`Post.set_image` changes.
IMAGE_FIELDS = [
    "image",
    "image_width",
    "image_height",
    "thumbnail",
    "thumbnail_width",
    "thumbnail_height",
]


class Command(BaseCommand):
    help = (
        "Re-encode images posted before uploads were re-encoded (no metadata, "
        "upright, bounded) and make their thumbnails."
    )

    def handle(self, *args, **options):
        pending = (
            Post.objects.exclude(image="")
            .filter(thumbnail="")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        done, failed = 0, []
        for pk in list(pending):
            try:
                done += self.process(pk)
            except (ValidationError, OSError) as exc:
                reason = exc.messages[0] if isinstance(exc, ValidationError) else exc
                failed.append(f"post {pk}: {reason}")
        if done or options["verbosity"] > 1:
            self.stdout.write(f"processed {done} image(s)")
        if failed:
            raise CommandError(
                f"{len(failed)} image(s) left as they are: " + "; ".join(failed)
            )

    def process(self, pk):
        """Process post *pk*'s image; return 1, or 0 if nothing is left to do
        (deleted, edited meanwhile). Raises what :func:`images.process` or
        the storage raise."""
        with transaction.atomic():
            post = Post.objects.select_for_update().filter(pk=pk).first()
            if post is None or not post.image or post.thumbnail:
                return 0
            old_files = post.image_files()
            with post.image.open("rb") as file:
                processed = images.process(file)
            post.set_image(processed)
            post.save(update_fields=IMAGE_FIELDS)
            for name in old_files:
                delete_file_on_commit(post.image.storage, name)
        return 1
