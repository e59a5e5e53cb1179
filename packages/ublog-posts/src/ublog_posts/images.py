"""Uploaded images made safe to publish, and their thumbnails.

What is stored is never the uploaded bytes. :func:`process` decodes the
whole image (every frame of an animation) with Pillow, turns it upright
(the EXIF orientation), bounds its dimensions, and encodes it again in the
same format family with no metadata at all: no EXIF (camera, GPS position),
no XMP, no ICC profile, no comments, and nothing after the image data (a
GIF that is also an HTML document comes out a plain GIF). A thumbnail of
the first frame, for lists, is made from the same decoded pixels.

Refused, before anything is stored, with the codes of :class:`ImageRefused`:
files that are not images or do not decode whole (a truncated JPEG), formats
the site does not accept, and images whose pixels (all frames together) are
more than ``UBLOG_POSTS_MAX_IMAGE_PIXELS``: a decompression bomb is refused
from its header, before a pixel is decoded.
"""

import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from PIL import ExifTags, Image, ImageSequence

from . import conf

#: File name extensions of the formats stored.
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
#: The format a thumbnail is encoded in, by the stored image's format (the
#: first frame of a GIF makes a better PNG than a GIF).
THUMBNAIL_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "GIF": "PNG", "WEBP": "WEBP"}
#: Lossy encoders' quality (Pillow's scale, 0–95).
QUALITY = 85


class ImageRefused(ValidationError):
    """An upload that cannot be published; ``code`` is ``invalid_image``,
    ``bad_format`` or ``too_large``."""


@dataclass(frozen=True)
class Encoded:
    """An encoded image: its bytes, Pillow format name and dimensions."""

    content: bytes
    format: str
    width: int
    height: int

    @property
    def extension(self):
        return EXTENSIONS[self.format]


@dataclass(frozen=True)
class Processed:
    """What is stored of one upload: the image and its thumbnail."""

    image: Encoded
    thumbnail: Encoded


def process(file):
    """Decode *file* (an open binary file), check it and return the image and
    thumbnail to store (:class:`Processed`). Raises :class:`ImageRefused`."""
    file.seek(0)
    try:
        with Image.open(file) as source:
            check_header(source)
            frames, durations = decode(source)
            image_format = source.format
            loop = source.info.get("loop")
    except ImageRefused:
        raise
    except Image.DecompressionBombError as exc:
        raise too_many_pixels() from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        # What Pillow raises for files that are not images or do not decode
        # whole (a truncated JPEG: "image file is truncated").
        raise ImageRefused(
            _("Upload a valid image. The file is not an image or is corrupted."),
            code="invalid_image",
        ) from exc
    finally:
        file.seek(0)
    return Processed(
        image=encode(bounded(frames), image_format, durations, loop),
        thumbnail=encode([thumbnail_of(frames[0])], THUMBNAIL_FORMATS[image_format]),
    )


def too_many_pixels():
    return ImageRefused(_("The image has too many pixels."), code="too_large")


def check_header(source):
    """Refuse, from the header only, a format not accepted or more pixels
    than allowed (every frame counted)."""
    allowed = conf.image_formats()
    if source.format not in allowed or source.format not in EXTENSIONS:
        raise ImageRefused(
            _("Images in %(format)s format are not accepted. Use %(allowed)s."),
            code="bad_format",
            params={"format": source.format, "allowed": ", ".join(allowed)},
        )
    width, height = source.size
    frames = getattr(source, "n_frames", 1)
    if width * height * frames > conf.max_image_pixels():
        raise too_many_pixels()


def decode(source):
    """Every frame of *source*, decoded whole and turned upright, as RGB(A),
    L or LA images without metadata; and each frame's duration (ms)."""
    frames, durations = [], []
    orientation = source.getexif().get(ExifTags.Base.Orientation)
    for frame in ImageSequence.Iterator(source):
        frame.load()
        durations.append(frame.info.get("duration", 0))
        if frame.mode.startswith("I"):  # 16 or 32 bits of grey: scaled, not cut
            frame = frame.convert("I").point(lambda value: value * (1 / 257))
        pixels = frame.convert(pixel_mode(frame))
        if orientation:
            pixels = upright(pixels, orientation)
        pixels.info = {}
        frames.append(pixels)
    return frames, durations


def pixel_mode(frame):
    """The mode to work in: alpha kept, palettes and CMYK expanded."""
    has_alpha = frame.mode in ("RGBA", "LA", "PA") or "transparency" in frame.info
    if frame.mode in ("L", "LA") or frame.mode.startswith("I"):
        return "LA" if has_alpha else "L"
    return "RGBA" if has_alpha else "RGB"


def upright(frame, orientation):
    """*frame* turned as EXIF *orientation* says (what ``exif_transpose``
    does, without reading metadata from a frame that has none left)."""
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return frame.transpose(method) if method is not None else frame


def bounded(frames):
    """*frames* scaled down to ``UBLOG_POSTS_MAX_IMAGE_DIMENSION`` on their
    longest side (never up)."""
    limit = conf.max_image_dimension()
    return [fitted(frame, (limit, limit)) for frame in frames]


def thumbnail_of(frame):
    """*frame* scaled down to ``UBLOG_POSTS_THUMBNAIL_WIDTH`` wide (a very
    tall image: to twice that high)."""
    width = conf.thumbnail_width()
    return fitted(frame, (width, 2 * width))


def fitted(frame, box):
    if frame.width <= box[0] and frame.height <= box[1]:
        return frame
    smaller = frame.copy()
    smaller.thumbnail(box, Image.Resampling.LANCZOS)
    smaller.info = {}
    return smaller


def encode(frames, image_format, durations=(), loop=None):
    """*frames* encoded as *image_format* with no metadata (:class:`Encoded`)."""
    first = for_format(frames[0], image_format)
    options = {}
    if image_format == "JPEG":
        options = {"quality": QUALITY, "optimize": True, "progressive": True}
    elif image_format == "PNG":
        options = {"optimize": True}
    elif image_format == "WEBP":
        options = {"quality": QUALITY, "method": 4}
    if len(frames) > 1:
        options |= {
            "save_all": True,
            "append_images": [for_format(f, image_format) for f in frames[1:]],
            "duration": list(durations),
        }
        if loop is not None:  # without, an animation plays once
            options["loop"] = loop
    out = io.BytesIO()
    first.save(out, format=image_format, **options)
    return Encoded(out.getvalue(), image_format, first.width, first.height)


def for_format(frame, image_format):
    """*frame* in a mode *image_format* can store (JPEG has no alpha: it is
    laid on white)."""
    if image_format == "JPEG" and frame.mode in ("RGBA", "LA"):
        background = Image.new("RGB", frame.size, (255, 255, 255))
        background.paste(frame.convert("RGBA"), mask=frame.getchannel("A"))
        frame = background
    frame.info = {}
    return frame
