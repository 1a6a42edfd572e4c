"""An SDK response body as the buffered, closable binary stream `ObjectStore.open` returns."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, BinaryIO, NoReturn

DEFAULT_BUFFER = 256 * 1024


class _TranslatingReader(io.RawIOBase):
    def __init__(self, read: Callable[[int], bytes], close: Callable[[], None],
                 on_error: Callable[[Exception], NoReturn]) -> None:
        self._read = read
        self._close = close
        self._on_error = on_error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            chunk = self._read(len(buffer))
        except Exception as exc:
            # A body cut mid-transfer must surface as a store error, not an SDK or socket error.
            self._on_error(exc)
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self._close()
        super().close()


def streaming_reader(read: Callable[[int], bytes], close: Callable[[], None],
                     on_error: Callable[[Exception], NoReturn], buffer_size: int = DEFAULT_BUFFER) -> BinaryIO:
    """Wrap `read(n)`/`close()` of a response body; `on_error` turns a read failure into a StoreError."""
    reader = io.BufferedReader(_TranslatingReader(read, close, on_error), buffer_size=buffer_size)
    return reader  # type: ignore[return-value]


def read_up_to(stream: BinaryIO, size: int) -> bytes:
    """`size` bytes or all that is left: raw streams (pipes, sockets) may return less per read."""
    parts: list[bytes] = []
    wanted = size
    while wanted > 0:
        chunk = stream.read(wanted)
        if not chunk:
            break
        parts.append(chunk)
        wanted -= len(chunk)
    return b"".join(parts)
