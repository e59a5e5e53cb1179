"""Database models: posts (text and an optional image) and likes."""

import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from PIL import Image

from . import list_cache
from .images import EXTENSIONS
from .moderation import can_moderate

MAX_TEXT_LENGTH = 1000
MAX_ALT_LENGTH = 250


def detect_image_format(file):
    """Return Pillow's format name for an open file (or None), keeping its
    position. Only the header is read; no pixel data is decoded."""
    if file is None:
        return None
    position = file.tell()
    try:
        file.seek(0)
        with Image.open(file) as image:
            return image.format
    except Exception:
        return None
    finally:
        file.seek(position)


def post_image_upload_to(instance, filename, field="image"):
    """Storage name for a post's image: ``ublog_posts/YYYY/MM/<uuid4>.<ext>``.

    The client's file name is ignored; the extension comes from the format
    the file was encoded in (``images``), else from its content.
    """
    try:
        upload = getattr(instance, field).file
    except (ValueError, OSError):
        upload = None
    image_format = getattr(upload, "ublog_format", None) or detect_image_format(upload)
    extension = EXTENSIONS.get(image_format, (image_format or "bin").lower())
    now = timezone.now()
    return f"ublog_posts/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.{extension}"


def post_thumbnail_upload_to(instance, filename):
    """Storage name for a post's thumbnail: ``ublog_posts/thumbnails/YYYY/MM/
    <uuid4>.<ext>`` (the extension of the format it was encoded in)."""
    return "ublog_posts/thumbnails/" + post_image_upload_to(
        instance, filename, field="thumbnail"
    ).removeprefix("ublog_posts/")


def like_count_subquery():
    """The number of likes of the outer post, as a subquery (no GROUP BY, so
    the model's default ordering still applies)."""
    likes = (
        Like.objects.filter(post=OuterRef("pk"))
        .order_by()
        .values("post")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(likes, output_field=IntegerField()), 0)


def stored_file(encoded):
    """An ``images.Encoded`` as a file for a model field; the storage name is
    made by the field's ``upload_to`` from its format."""
    file = ContentFile(encoded.content, name=f"image.{encoded.extension}")
    file.ublog_format = encoded.format
    return file


class PostQuerySet(models.QuerySet):
    def published(self):
        """The posts everyone may see (not those waiting for moderation)."""
        return self.filter(status=Post.Status.PUBLISHED)

    def publish(self):
        """Publish the posts among these that wait for moderation; return how
        many. Cached list pages are forgotten once the transaction commits
        (``update()`` sends no signal)."""
        count = self.filter(status=Post.Status.PENDING).update(
            status=Post.Status.PUBLISHED, modified=timezone.now()
        )
        if count:
            list_cache.invalidate_on_commit(using=self.db)
        return count

    def with_likes(self, user=None):
        """Annotate ``like_count`` and ``liked`` (whether *user* likes the post)
        and fetch owners in the same query."""
        if user is not None and user.is_authenticated:
            liked = Exists(Like.objects.filter(post=OuterRef("pk"), user=user))
        else:
            liked = Value(False, output_field=BooleanField())
        return self.select_related("owner").annotate(
            like_count=like_count_subquery(), liked=liked
        )

    def search(self, query):
        """Posts whose text contains *query* (case-insensitive)."""
        query = (query or "").strip()
        if "\x00" in query:
            # No text contains NUL (the form refuses it), and PostgreSQL
            # cannot even compare with it: nothing matches.
            return self.none()
        return self.filter(text__icontains=query) if query else self


class Post(models.Model):
    class Status(models.TextChoices):
        PUBLISHED = "published", _("published")
        PENDING = "pending", _("waiting for moderation")

    text = models.TextField(
        _("text"),
        max_length=MAX_TEXT_LENGTH,
        validators=[MaxLengthValidator(MAX_TEXT_LENGTH)],
    )
    image = models.ImageField(_("image"), upload_to=post_image_upload_to, blank=True)
    image_alt = models.CharField(
        _("image description"),
        max_length=MAX_ALT_LENGTH,
        blank=True,
        help_text=_(
            "What the image shows, for people who cannot see it (read aloud "
            "by screen readers, shown when the image does not load)."
        ),
    )
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # A smaller copy for lists (``images``); empty for an image stored before
    # images were processed, until ``manage.py processimages`` makes it.
    thumbnail = models.ImageField(
        _("thumbnail"),
        upload_to=post_thumbnail_upload_to,
        blank=True,
        editable=False,
    )
    thumbnail_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    thumbnail_height = models.PositiveIntegerField(
        null=True, blank=True, editable=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ublog_posts",
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.PUBLISHED,
    )
    # What moderators need to remove a spammer's posts, recorded for anonymous
    # posts only (see ``moderation``); deleted with the post.
    poster_address = models.GenericIPAddressField(
        _("poster's address"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The client address an anonymous post was sent from."),
    )
    poster_session = models.CharField(
        _("poster's session"),
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text=_(
            "A random token kept in the session an anonymous post was sent "
            "from (not the session key)."
        ),
    )
    created = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    modified = models.DateTimeField(_("modified"), auto_now=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [
            models.Index(fields=["-created", "-id"], name="ublog_posts_post_created"),
            # The list: published posts, newest first.
            models.Index(
                fields=["status", "-created", "-id"], name="ublog_posts_post_status"
            ),
            models.Index(fields=["poster_address"], name="ublog_posts_post_address"),
            models.Index(fields=["poster_session"], name="ublog_posts_post_session"),
        ]
        verbose_name = _("post")
        verbose_name_plural = _("posts")

    def __str__(self):
        return Truncator(" ".join(self.text.split())).chars(50)

    def get_absolute_url(self):
        return reverse("ublog_posts:detail", args=[self.pk])

    def set_image(self, processed):
        """Attach *processed* (``images.Processed``): the image and its
        thumbnail, both saved to storage when the post is saved."""
        self.image = stored_file(processed.image)
        self.image_width = processed.image.width
        self.image_height = processed.image.height
        self.thumbnail = stored_file(processed.thumbnail)
        self.thumbnail_width = processed.thumbnail.width
        self.thumbnail_height = processed.thumbnail.height

    def clear_image(self):
        """No image any more (the files stay until the caller deletes them)."""
        self.image = self.thumbnail = ""
        self.image_alt = ""
        self.image_width = self.image_height = None
        self.thumbnail_width = self.thumbnail_height = None

    def image_files(self):
        """The storage names of the image and its thumbnail (those set)."""
        return [f.name for f in (self.image, self.thumbnail) if f]

    @property
    def alt_text(self):
        """The image's text alternative: the author's description; for an
        image posted before descriptions existed, the start of the text."""
        if self.image_alt:
            return self.image_alt
        return gettext("Image of the post “%(text)s”") % {"text": self}

    @property
    def list_image(self):
        """The file a list shows: the thumbnail, else (not processed yet)
        the image."""
        return self.thumbnail or self.image

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    def is_visible_to(self, user, poster_session=""):
        """Whether *user* may see this post: everyone sees published posts; a
        post waiting for moderation is seen by its owner, by the session it
        was sent from (whose poster token is *poster_session*) and by
        moderators (``moderation.can_moderate``)."""
        if self.is_published:
            return True
        if user is not None and user.is_authenticated and self.owner_id == user.pk:
            return True
        if poster_session and constant_time_compare(
            poster_session, self.poster_session
        ):
            return True
        return can_moderate(user)

    def can_be_changed_by(self, user):
        """Only the owner may edit or delete; anonymous posts stay as they are."""
        return (
            self.owner_id is not None
            and user is not None
            and user.is_authenticated
            and self.owner_id == user.pk
        )


class Like(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="ublog_post_likes",
    )
    post = models.ForeignKey(
        Post, verbose_name=_("post"), on_delete=models.CASCADE, related_name="likes"
    )
    created = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "post"], name="ublog_posts_like_unique_user_post"
            ),
        ]
        verbose_name = _("like")
        verbose_name_plural = _("likes")

    def __str__(self):
        return f"{self.user} \N{BLACK HEART SUIT} {self.post}"
