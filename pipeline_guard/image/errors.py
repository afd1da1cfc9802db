"""The one exception the image analyzer raises, with the ScanFailure kind it maps to."""

from __future__ import annotations


class ImageError(Exception):
    """An image could not be read or analyzed; the message says what to do.

    `kind` is one of the scanner failure kinds: `input` (no such image, unreadable,
    hostile or malformed content), `missing` (no daemon or registry to talk to),
    `config` (bad reference or option, refused credentials), `timeout`.
    """

    def __init__(self, message: str, kind: str = "input", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.detail = detail


class HostileImage(ImageError):
    """The image's content tries something no honest image does; it is refused whole."""

    def __init__(self, message: str) -> None:
        super().__init__(f"refused hostile image content: {message}", "input")
