"""AtomicFileSystemStorage, and what a full disk does to the post views.

A full disk is made real with RLIMIT_FSIZE: the kernel refuses to let this
process write past the limit (EFBIG), exactly as a full file system refuses
with ENOSPC, half way through the upload.
"""

import contextlib
import errno
import io
import os
import resource
import signal

import django
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from tests.helpers import image_bytes, upload
from ublog_posts.models import Post
from ublog_posts.storage import PARTIAL_PREFIX, AtomicFileSystemStorage

pytestmark = pytest.mark.django_db

CREATE = reverse("ublog_posts:create")


@contextlib.contextmanager
def file_size_limit(limit):
    """Writes past *limit* bytes fail with EFBIG (SIGXFSZ ignored meanwhile)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def files_under(root):
    return sorted(
        os.path.relpath(os.path.join(d, f), root)
        for d, _, names in os.walk(root)
        for f in names
    )


def big_png():
    """A real PNG of some 30 kB (noise does not compress)."""
    image = Image.frombytes("RGB", (100, 100), os.urandom(100 * 100 * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_default_storage_is_atomic():
    assert isinstance(default_storage, AtomicFileSystemStorage)


def test_save_writes_whole_file_with_upload_permissions(media_root, settings):
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
    storage = AtomicFileSystemStorage()
    name = storage.save("a/b/file.txt", ContentFile(b"hello"))
    assert name == "a/b/file.txt"
    path = media_root / name
    assert path.read_bytes() == b"hello"
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)
    assert oct((media_root / "a" / "b").stat().st_mode & 0o777) == oct(0o750)
    assert files_under(media_root) == ["a/b/file.txt"]


def test_save_never_overwrites_an_existing_name(media_root):
    storage = AtomicFileSystemStorage()
    first = storage.save("same.txt", ContentFile(b"first"))
    second = storage.save("same.txt", ContentFile(b"second"))
    assert first == "same.txt" and second != first
    assert (media_root / first).read_bytes() == b"first"
    assert (media_root / second).read_bytes() == b"second"


def test_a_name_taken_meanwhile_is_not_overwritten(media_root):
    # Another process took the name between get_available_name() and the
    # link: _save() moves on to a free name.
    storage = AtomicFileSystemStorage()
    (media_root / "race.txt").write_bytes(b"theirs")
    name = storage._save("race.txt", ContentFile(b"ours"))
    assert name != "race.txt"
    assert (media_root / "race.txt").read_bytes() == b"theirs"
    assert (media_root / name).read_bytes() == b"ours"


def test_directories_without_configured_permissions(media_root, settings):
    settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS = None
    storage = AtomicFileSystemStorage()
    assert storage.save("new/dir/f.txt", ContentFile(b"x")) == "new/dir/f.txt"
    assert (media_root / "new" / "dir").is_dir()


@pytest.mark.skipif(django.VERSION < (5, 1), reason="allow_overwrite is Django 5.1+")
def test_allow_overwrite_replaces_in_place(media_root):
    storage = AtomicFileSystemStorage(allow_overwrite=True)
    storage.save("same.txt", ContentFile(b"first"))
    assert storage.save("same.txt", ContentFile(b"second")) == "same.txt"
    assert (media_root / "same.txt").read_bytes() == b"second"
    assert files_under(media_root) == ["same.txt"]


def test_failed_write_leaves_no_file(media_root):
    storage = AtomicFileSystemStorage()
    storage.save("dir/keep.txt", ContentFile(b"kept"))
    with file_size_limit(1000), pytest.raises(OSError) as info:
        storage.save("dir/big.bin", ContentFile(b"x" * 5000))
    assert info.value.errno == errno.EFBIG
    assert files_under(media_root) == ["dir/keep.txt"]
    assert not any(PARTIAL_PREFIX in name for name in files_under(media_root))


def test_disk_full_on_create_is_a_form_error_and_leaves_nothing(client, media_root):
    content = big_png()
    assert len(content) > 20000
    with file_size_limit(4096):
        response = client.post(
            CREATE,
            {
                "text": "too big for the disk",
                "image_alt": "A test image",
                "image": upload(content),
            },
        )
    assert response.status_code == 507
    assert b"out of disk space" in response.content
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == [
        "storage_full"
    ]
    assert Post.objects.count() == 0
    assert files_under(media_root) == []


def test_disk_full_on_edit_keeps_the_old_post_and_image(client, user, media_root):
    post = Post.objects.create(text="old", owner=user, image=upload(image_bytes()))
    old_name = post.image.name
    client.force_login(user)
    with file_size_limit(4096):
        response = client.post(
            reverse("ublog_posts:edit", args=[post.pk]),
            {"text": "new", "image_alt": "A test image", "image": upload(big_png())},
        )
    assert response.status_code == 507
    post.refresh_from_db()
    assert (post.text, post.image.name) == ("old", old_name)
    assert files_under(media_root) == [old_name]


def test_no_room_for_the_thumbnail_leaves_no_image_either(
    client, media_root, monkeypatch
):
    """The image is stored, then the disk fills up: the image goes too."""
    real_save = AtomicFileSystemStorage._save

    def full_for_thumbnails(self, name, content):
        if "/thumbnails/" in f"/{name}":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, name, content)

    monkeypatch.setattr(AtomicFileSystemStorage, "_save", full_for_thumbnails)
    response = client.post(
        CREATE,
        {"text": "x", "image_alt": "A test image", "image": upload(image_bytes())},
    )
    assert response.status_code == 507
    assert Post.objects.count() == 0
    assert [name for name in files_under(media_root) if "." in name] == []


def test_other_storage_errors_are_not_hidden(client, media_root):
    # A file where the upload directory should be: a real error, not "full".
    (media_root / "ublog_posts").write_bytes(b"in the way")
    with pytest.raises(OSError) as info:
        client.post(
            CREATE,
            {"text": "x", "image_alt": "A test image", "image": upload(image_bytes())},
        )
    assert info.value.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    assert Post.objects.count() == 0
    assert files_under(media_root) == ["ublog_posts"]
