"""Line reading shared by the file readers: every error names the file and the line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .schema import CorpusFormatError


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line of a UTF-8 file, 1-based, without the newline.

    Raises ``CorpusFormatError`` naming the path for a missing file and the line for a byte that
    is not UTF-8 (decoding line by line is what lets the error say where).
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusFormatError(path, "file not found")
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise CorpusFormatError(
                    path, f"byte 0x{raw[e.start]:02x} at column {e.start + 1} is not valid UTF-8", number
                ) from None
            yield number, text.rstrip("\r\n")


def is_number(text: str) -> bool:
    """Whether ``text`` is a non-negative integer written in ASCII digits. ``str.isdigit`` alone also
    accepts characters such as ``²``, which ``int()`` then refuses with an error naming no file."""
    return text.isascii() and text.isdigit()
