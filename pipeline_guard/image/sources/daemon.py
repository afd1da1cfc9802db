"""Images in a Docker daemon, through the docker SDK (`DOCKER_HOST` and TLS env honoured).

The daemon exports the image (`docker save`); the export is spooled to a
temporary file, because `manifest.json` comes last in it, and then read like
any docker archive. The spool is capped and deleted when the analysis ends.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.reference import ImageReference
from pipeline_guard.image.sources.archive import open_archive
from pipeline_guard.image.sources.base import SourceImage, SourceSettings


@contextmanager
def open_daemon_image(reference: ImageReference, settings: SourceSettings) -> Iterator[SourceImage]:
    """Export `reference` from the daemon and read it as a docker archive."""
    client = _client(settings.timeout)
    try:
        image = _get(client, reference.name)
        with tempfile.TemporaryDirectory(prefix="pg-image-", dir=settings.work_dir) as tmp:
            spool = Path(tmp) / "image.tar"
            _export(image, spool, settings.limits.max_archive_bytes, reference)
            with open_archive(reference, settings, path=spool) as source:
                yield source
    finally:
        client.close()


def _client(timeout: float) -> Any:
    import docker  # imported here: only this source needs the SDK loaded

    try:
        return docker.from_env(timeout=int(timeout))
    except docker.errors.DockerException as exc:
        host = os.environ.get("DOCKER_HOST", "the default socket")
        raise ImageError(
            f"cannot reach the Docker daemon at {host}: {exc}. Start it or set DOCKER_HOST, "
            "or scan the image without a daemon (docker-archive:, oci:, registry:)",
            "missing",
        ) from None


def _get(client: Any, name: str) -> Any:
    import docker
    import requests

    try:
        return client.images.get(name)
    except docker.errors.ImageNotFound:
        raise ImageError(
            f"the Docker daemon has no image {name!r} (pull or build it first)"
        ) from None
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise ImageError(
            f"the Docker daemon could not look up {name!r}: {exc}", "missing"
        ) from None


def _export(image: Any, spool: Path, limit: int, reference: ImageReference) -> None:
    import docker
    import requests

    written = 0
    try:
        with spool.open("wb") as out:
            for chunk in image.save(named=True):
                written += len(chunk)
                if written > limit:
                    raise ImageError(f"{reference}: the export is larger than {limit} bytes")
                out.write(chunk)
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise ImageError(f"{reference}: the Docker daemon failed to export it: {exc}") from None
