"""A file system storage whose files appear whole or not at all.

Django's ``FileSystemStorage`` writes an upload straight to its final name:
when the disk fills up half way, a truncated file stays behind under a name
nothing refers to, and until then nginx may serve half an image. This storage
writes to a hidden temporary file in the same directory, flushes it to disk,
and only then links it to its final name; on any error the temporary file is
removed and the error is raised unchanged, so the caller can report it.

Use it as the default storage (``STORAGES["default"]["BACKEND"] =
"ublog_posts.storage.AtomicFileSystemStorage"``); ublog-site does.
"""

import contextlib
import os
import tempfile

from django.core.files.storage import FileSystemStorage

PARTIAL_PREFIX = ".partial-"


class AtomicFileSystemStorage(FileSystemStorage):
    def _save(self, name, content):
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        self._make_directory(directory)
        fd, partial = tempfile.mkstemp(dir=directory, prefix=PARTIAL_PREFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                if hasattr(content, "seek"):
                    content.seek(0)
                for chunk in content.chunks():
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            mode = self.file_permissions_mode
            os.chmod(partial, 0o644 if mode is None else mode)
            if getattr(self, "_allow_overwrite", False):  # Django >= 5.1 option
                os.replace(partial, full_path)
            else:
                name = self._link_to_free_name(partial, name)
        finally:
            with contextlib.suppress(FileNotFoundError):  # replaced into place
                os.unlink(partial)
        return str(name).replace("\\", "/")

    def _link_to_free_name(self, partial, name):
        """Link *partial* to *name*, or to the next free name; return it.
        ``link()`` never replaces an existing file, unlike ``rename()``."""
        while True:
            try:
                os.link(partial, self.path(name))
                return name
            except FileExistsError:
                name = self.get_available_name(name)

    def _make_directory(self, directory):
        """Create *directory* as Django's storage does (honouring
        ``FILE_UPLOAD_DIRECTORY_PERMISSIONS``)."""
        if self.directory_permissions_mode is None:
            os.makedirs(directory, exist_ok=True)
            return
        old_umask = os.umask(0o777 & ~self.directory_permissions_mode)
        try:
            os.makedirs(directory, self.directory_permissions_mode, exist_ok=True)
        finally:
            os.umask(old_umask)
