"""Real PNG files made from nothing (what Pillow verifies on upload).

* :func:`png_bytes`: a tiny red image, the same bytes for the same size;
* :func:`gradient_png`: a colour gradient, visible in screenshots;
* :func:`noise_png`: random pixels, which do not compress: about
  ``width * height * 3`` bytes, to fill a disk;

and what a served PNG holds: :func:`png_size`, and :func:`png_pixels` to
compare pictures the site re-encoded (other bytes, the same pixels).
"""

import os
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")


def png(width: int, height: int, pixel, level: int = -1) -> bytes:
    """An 8-bit RGB PNG whose pixel ``(x, y)`` is ``pixel(x, y)`` (3 bytes)."""
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\0\0\0"
    rows = b"".join(
        b"\0" + b"".join(pixel(x, y) for x in range(width)) for y in range(height)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, level))
        + _chunk(b"IEND", b"")
    )


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    """A small red PNG."""
    return png(width, height, lambda x, y: b"\xff\x00\x00")


def gradient_png(width: int = 240, height: int = 135) -> bytes:
    """A PNG of a colour gradient."""
    return png(
        width,
        height,
        lambda x, y: bytes((255 * x // width, 255 * y // height, 160)),
    )


def png_size(content: bytes) -> tuple[int, int] | None:
    """The (width, height) of a PNG, from its header; None if *content* is
    not a PNG."""
    if content[:8] != b"\x89PNG\r\n\x1a\n" or content[12:16] != b"IHDR":
        return None
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")


def noise_png(width: int, height: int) -> bytes:
    """A PNG of random pixels (stored with the fastest compression)."""
    return png(width, height, lambda x, y: os.urandom(3), level=1)


def png_pixels(content: bytes) -> tuple[int, int, bytes]:
    """(width, height, pixels) of an 8-bit RGB PNG, the pixels as rows of
    RGB bytes with the encoder's filters undone; ValueError for any other
    kind of file."""
    size = png_size(content)
    if size is None or content[24:26] != b"\x08\x02":
        raise ValueError("not an 8-bit RGB PNG")
    width, height = size
    data, position = b"", 8
    while position < len(content):
        length = int.from_bytes(content[position : position + 4], "big")
        kind = content[position + 4 : position + 8]
        if kind == b"IDAT":
            data += content[position + 8 : position + 8 + length]
        position += 12 + length
    raw, stride, step = zlib.decompress(data), width * 3, 3
    pixels, previous = bytearray(), bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = row[x - step] if x >= step else 0
            up, up_left = previous[x], previous[x - step] if x >= step else 0
            if kind == 1:
                row[x] = (row[x] + left) & 0xFF
            elif kind == 2:
                row[x] = (row[x] + up) & 0xFF
            elif kind == 3:
                row[x] = (row[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                row[x] = (row[x] + _paeth(left, up, up_left)) & 0xFF
        pixels += row
        previous = row
    return width, height, bytes(pixels)


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    distances = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
    if distances[0] <= distances[1] and distances[0] <= distances[2]:
        return left
    return up if distances[1] <= distances[2] else up_left
