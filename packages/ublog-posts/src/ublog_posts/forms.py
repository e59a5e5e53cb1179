"""Forms: the post form, the admin's, and what both do with an image."""

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from . import conf, images
from .models import Post
from .signals import delete_file_on_commit


def check_size(upload):
    """Refuse an upload larger than ``UBLOG_POSTS_MAX_IMAGE_SIZE`` before
    anything is decoded (code ``too_large``)."""
    max_size = conf.max_image_size()
    if upload.size is not None and upload.size > max_size:
        raise ValidationError(
            _("The image is too large (%(size)s). The limit is %(max)s."),
            code="too_large",
            params={
                "size": filesizeformat(upload.size),
                "max": filesizeformat(max_size),
            },
        )


class PostImageFormMixin:
    """The image of a post form: an upload is checked and re-encoded
    (``images.process``), a description is required with an image, and the
    files a save replaces are deleted once it commits. Used by the post form
    and the admin's."""

    alt_required_message = _(
        "Describe the image for people who cannot see it (for example: "
        "“A red bicycle leaning on a stone wall”)."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.processed = None
        self.previous_files = self.instance.image_files() if self.instance.pk else []

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if isinstance(image, UploadedFile):
            check_size(image)
            self.processed = images.process(image)
        return image

    def clean(self):
        cleaned_data = super().clean()
        image = cleaned_data.get("image")
        has_image = self.processed is not None or (
            image is not False and bool(self.instance.image)
        )
        if "image" in self.errors:
            return cleaned_data
        if has_image and not cleaned_data.get("image_alt", "").strip():
            self.add_error(
                "image_alt",
                ValidationError(self.alt_required_message, code="alt_required"),
            )
        return cleaned_data

    def save(self, commit=True):
        if self.errors:  # ModelForm.save() says why it cannot save
            return super().save(commit=commit)
        if self.processed is not None:
            self.instance.set_image(self.processed)
        elif self.cleaned_data.get("image") is False or not self.instance.image:
            self.instance.clear_image()
        post = super().save(commit=commit)
        if commit:
            self.delete_replaced_files(post)
        return post

    def discard_new_files(self):
        """After a failed save: delete at once the files it stored already
        (the image, when the thumbnail could not be stored); the previous
        ones stay."""
        storage = Post._meta.get_field("image").storage
        for name in self.instance.image_files():
            if name not in self.previous_files:
                storage.delete(name)

    def delete_replaced_files(self, post):
        """Once saved: the files no longer referenced go after the commit."""
        kept = set(post.image_files())
        storage = Post._meta.get_field("image").storage
        for name in self.previous_files:
            if name not in kept:
                delete_file_on_commit(storage, name)


class PostForm(PostImageFormMixin, forms.ModelForm):
    image = forms.FileField(
        label=_("Image"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )

    class Meta:
        model = Post
        fields = ["text", "image", "image_alt"]
        widgets = {"text": forms.Textarea(attrs={"rows": 4})}


class AdminPostForm(PostImageFormMixin, forms.ModelForm):
    """The admin's post form: images are processed as on the site."""

    class Meta:
        model = Post
        fields = ["text", "image", "image_alt", "owner", "status"]
