"""Forms: the post form and the validation of uploaded images."""

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image

from . import conf
from .models import Post
from .signals import delete_file_on_commit


def validate_image(upload):
    """Check an uploaded image and return its Pillow format name.

    The size is checked before anything is decoded; then the file is opened
    with Pillow and verified, reopened (``verify()`` leaves the image unusable)
    and its format and pixel count are checked. Raises ``ValidationError`` with
    the codes ``too_large``, ``invalid_image`` or ``bad_format``.
    """
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
    too_many_pixels = ValidationError(
        _("The image has too many pixels."), code="too_large"
    )
    invalid = ValidationError(
        _("Upload a valid image. The file is not an image or is corrupted."),
        code="invalid_image",
    )
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            width, height = image.size
    except Image.DecompressionBombError as exc:
        raise too_many_pixels from exc
    except Exception as exc:
        raise invalid from exc
    finally:
        upload.seek(0)
    max_pixels = Image.MAX_IMAGE_PIXELS
    if max_pixels is not None and width * height > max_pixels:
        raise too_many_pixels
    allowed = conf.image_formats()
    if image_format not in allowed:
        raise ValidationError(
            _("Images in %(format)s format are not accepted. Use %(allowed)s."),
            code="bad_format",
            params={"format": image_format, "allowed": ", ".join(allowed)},
        )
    return image_format


class PostForm(forms.ModelForm):
    image = forms.FileField(
        label=_("Image"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )

    class Meta:
        model = Post
        fields = ["text", "image"]
        widgets = {"text": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.previous_image_name = self.instance.image.name if self.instance.pk else ""

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if isinstance(image, UploadedFile):
            image.ublog_format = validate_image(image)
            image.content_type = Image.MIME.get(image.ublog_format)
        return image

    def save(self, commit=True):
        post = super().save(commit=commit)
        if commit and self.previous_image_name != post.image.name:
            # Replaced or cleared: the old file is no longer referenced.
            storage = Post._meta.get_field("image").storage
            delete_file_on_commit(storage, self.previous_image_name)
        return post
