"""What is stored of an upload (``images.process``): real files of the kinds
visitors send, hostile ones included. The stored file is never the upload:
no metadata survives, the picture is upright and bounded, a polyglot loses
its second nature, and broken files and bombs are refused."""

import io

import pytest
from django.core.exceptions import ValidationError
from PIL import ExifTags, Image, ImageFile

from tests.helpers import camera_jpeg
from ublog_posts import images

GPS = ExifTags.IFD.GPSInfo


def encoded(image_format, size=(40, 30), mode="RGB", color=(200, 30, 90), **options):
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, image_format, **options)
    return out.getvalue()


def refusal(content):
    with pytest.raises(ValidationError) as info:
        images.process(io.BytesIO(content))
    return info.value.code


def opened(content):
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def test_jpeg_loses_gps_camera_and_every_other_metadata():
    upload = camera_jpeg()
    assert b"PhoneMaker" in upload and opened(upload).getexif().get_ifd(GPS)
    stored = images.process(io.BytesIO(upload))
    for content in (stored.image.content, stored.thumbnail.content):
        image = opened(content)
        assert image.format == "JPEG"
        assert not image.getexif(), "EXIF left in the stored file"
        assert not image.info.get("icc_profile")
        assert b"Exif" not in content and b"PhoneMaker" not in content
        assert b"Secret" not in content and b"fake profile" not in content


@pytest.mark.parametrize(
    ("orientation", "size", "red_corner"),
    [
        (None, (60, 40), (0, 0)),
        (3, (60, 40), (59, 39)),  # upside down
        (6, (40, 60), (39, 0)),  # turned by a quarter: the picture is portrait
        (8, (40, 60), (0, 59)),
    ],
)
def test_the_orientation_is_applied(orientation, size, red_corner):
    stored = images.process(io.BytesIO(camera_jpeg(orientation=orientation)))
    image = opened(stored.image.content)
    assert image.size == size == (stored.image.width, stored.image.height)
    red, green, blue = image.getpixel(red_corner)
    assert red > 200 and green < 60 and blue < 60, image.getpixel(red_corner)


def gif_html_polyglot():
    """A valid GIF whose comment and trailing bytes make an HTML page with a
    script, as browsers that sniff would run it."""
    page = b"<html><body><script>alert(document.cookie)</script></body></html>"
    gif = encoded("GIF", comment=page)
    return gif + page


def test_gif_html_polyglot_comes_out_a_plain_gif():
    upload = gif_html_polyglot()
    assert opened(upload).format == "GIF" and b"<script>" in upload
    stored = images.process(io.BytesIO(upload))
    content = stored.image.content
    assert b"<" not in content, "HTML left in the stored GIF"
    image = opened(content)
    assert image.format == "GIF" and "comment" not in image.info
    assert content.endswith(b";"), "bytes after the GIF trailer"
    assert image.convert("RGB").getpixel((5, 5)) == (200, 30, 90)


def test_png_text_chunks_and_profile_are_dropped():
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Jane Secret")
    text.add_text("Comment", "<script>x</script>")
    upload = encoded("PNG", pnginfo=text, icc_profile=b"\0" * 128 + b"profile")
    stored = images.process(io.BytesIO(upload)).image.content
    assert b"Jane" not in stored and b"script" not in stored
    assert b"profile" not in stored
    assert not opened(stored).text


def test_truncated_jpeg_is_refused():
    image = Image.effect_noise((300, 200), 80).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    whole = out.getvalue()
    assert opened(whole).size == (300, 200)
    assert refusal(whole[: len(whole) // 2]) == "invalid_image"


def test_fifty_megapixel_bomb_is_refused_from_its_header(monkeypatch):
    """A 7072 x 7072 PNG of one colour: 50 megapixels, some 150 MB decoded,
    in a file of a few kB. Refused with the default limit, before any pixel
    is decoded."""
    out = io.BytesIO()
    Image.new("1", (7072, 7072)).save(out, "PNG")
    bomb = out.getvalue()
    assert len(bomb) < 100_000
    loads = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda self: loads.append(self) or real_load(self)
    )
    assert refusal(bomb) == "too_large"
    assert loads == [], "pixels were decoded"


def test_an_animation_counts_every_frame(settings):
    frames = [Image.new("RGB", (20, 20), (i * 40, 0, 0)) for i in range(5)]
    out = io.BytesIO()
    frames[0].save(
        out,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300, 400, 500],
        loop=0,
    )
    settings.UBLOG_POSTS_MAX_IMAGE_PIXELS = 20 * 20 * 4
    assert refusal(out.getvalue()) == "too_large"
    settings.UBLOG_POSTS_MAX_IMAGE_PIXELS = 20 * 20 * 5
    stored = images.process(io.BytesIO(out.getvalue()))
    animation = Image.open(io.BytesIO(stored.image.content))
    assert animation.n_frames == 5 and animation.info["loop"] == 0
    durations = []
    for index in range(5):
        animation.seek(index)
        durations.append(animation.info["duration"])
    assert durations == [100, 200, 300, 400, 500]
    assert opened(stored.thumbnail.content).format == "PNG"  # the first frame


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "GIF", "WEBP"])
def test_each_accepted_format_stays_in_its_family(image_format):
    stored = images.process(io.BytesIO(encoded(image_format)))
    assert opened(stored.image.content).format == image_format
    assert stored.image.extension == images.EXTENSIONS[image_format]
    assert (stored.image.width, stored.image.height) == (40, 30)


@pytest.mark.parametrize("image_format", ["PNG", "WEBP", "GIF"])
def test_transparency_is_kept(image_format):
    upload = encoded(image_format, mode="RGBA", color=(0, 0, 0, 0))
    image = opened(images.process(io.BytesIO(upload)).image.content).convert("RGBA")
    assert image.getpixel((3, 3))[3] == 0


def test_sixteen_bit_grey_is_scaled_not_cut():
    image = Image.new("I;16", (3, 1))
    image.putpixel((1, 0), 32896)  # the middle grey
    image.putpixel((2, 0), 65535)
    out = io.BytesIO()
    image.save(out, "PNG")
    stored = opened(images.process(out).image.content).convert("L")
    assert [stored.getpixel((x, 0)) for x in range(3)] == [0, 128, 255]


def test_cmyk_jpeg_is_stored_as_rgb():
    upload = encoded("JPEG", mode="CMYK", color=(0, 255, 255, 0))
    image = opened(images.process(io.BytesIO(upload)).image.content)
    assert image.mode == "RGB"
    red, green, blue = image.getpixel((5, 5))
    assert red > 200 and green < 60 and blue < 60


def test_large_images_are_bounded_and_thumbnails_fit_the_list(settings):
    upload = encoded("PNG", size=(5000, 1000))
    stored = images.process(io.BytesIO(upload))
    assert (stored.image.width, stored.image.height) == (2048, 410)
    assert (stored.thumbnail.width, stored.thumbnail.height) == (640, 128)
    assert opened(stored.thumbnail.content).size == (640, 128)
    settings.UBLOG_POSTS_MAX_IMAGE_DIMENSION = 1000
    settings.UBLOG_POSTS_THUMBNAIL_WIDTH = 100
    stored = images.process(io.BytesIO(upload))
    assert opened(stored.image.content).size == (1000, 200)
    assert opened(stored.thumbnail.content).size == (100, 20)


def test_a_very_tall_image_gets_a_bounded_thumbnail():
    stored = images.process(io.BytesIO(encoded("PNG", size=(700, 20000))))
    assert stored.thumbnail.height == 1280 and stored.thumbnail.width <= 640


def test_small_images_are_not_scaled_up():
    stored = images.process(io.BytesIO(encoded("PNG", size=(3, 2))))
    assert (stored.image.width, stored.thumbnail.width) == (3, 3)


@pytest.mark.parametrize(
    "content",
    [b"", b"GIF89a", b"\xff\xd8\xff\xe0 not really", b"<html>hello</html>" * 20],
)
def test_what_is_not_an_image_is_refused(content):
    assert refusal(content) == "invalid_image"


def test_a_format_not_accepted_is_refused_by_name(settings):
    settings.UBLOG_POSTS_IMAGE_FORMATS = ["JPEG"]
    with pytest.raises(ValidationError) as info:
        images.process(io.BytesIO(encoded("PNG")))
    assert info.value.code == "bad_format"
    assert "PNG" in str(info.value.message % info.value.params)


def test_the_same_upload_is_stored_the_same():
    """Re-encoding is deterministic."""
    first = images.process(io.BytesIO(camera_jpeg()))
    second = images.process(io.BytesIO(camera_jpeg()))
    assert first == second
