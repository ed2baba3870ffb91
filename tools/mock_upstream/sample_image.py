"""A small PNG the mock upstream serves at `/_mock/sample.png`, drawn in code at start-up, so the
demo's `inputImageUrl` names something real on a machine with no internet and nothing is
downloaded or checked in."""
from __future__ import annotations

import struct
import zlib

SIZE = 64
BACKGROUND = (245, 245, 245)
PRODUCT = (38, 110, 190)  # a blue square on a light ground: something for clean-up demos to "find"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def sample_png(size: int = SIZE) -> bytes:
    """An RGB PNG of `size` x `size` pixels: a centred square on a plain background."""
    margin = size // 4
    rows = []
    for y in range(size):
        pixels = (PRODUCT if margin <= x < size - margin and margin <= y < size - margin else BACKGROUND
                  for x in range(size))
        rows.append(b"\x00" + b"".join(bytes(p) for p in pixels))  # filter byte 0: none
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + _chunk(b"IEND", b""))
