"""The four image sources behind one call: `open_image(reference, settings)`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.reference import ImageReference
from pipeline_guard.image.sources.archive import open_archive
from pipeline_guard.image.sources.base import LayerSource, SourceImage, SourceSettings
from pipeline_guard.image.sources.daemon import open_daemon_image
from pipeline_guard.image.sources.oci_layout import open_layout_dir
from pipeline_guard.image.sources.registry import open_registry_image

__all__ = ["LayerSource", "SourceImage", "SourceSettings", "open_image"]


@contextmanager
def open_image(reference: ImageReference, settings: SourceSettings) -> Iterator[SourceImage]:
    """The image `reference` names; its layers can be read inside the `with`."""
    if reference.transport == "docker-archive":
        with open_archive(reference, settings, selector=reference.tag) as image:
            yield image
    elif reference.transport == "oci":
        yield open_layout_dir(reference, settings)
    elif reference.transport == "docker":
        with open_daemon_image(reference, settings) as image:
            yield image
    elif reference.transport == "registry":
        yield open_registry_image(reference, settings)
    else:
        raise ImageError(f"unknown image transport {reference.transport!r}", "config")
