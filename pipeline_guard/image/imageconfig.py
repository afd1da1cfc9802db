"""The image configuration blob: runtime settings, layer diff ids and build history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.manifests import load_json
from pipeline_guard.image.reference import check_digest


@dataclass(frozen=True)
class HistoryEntry:
    """One build step; `empty_layer` steps (ENV, CMD, ...) produced no layer."""

    created_by: str
    created: str | None = None
    empty_layer: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class ImageConfig:
    os: str
    architecture: str
    variant: str | None
    user: str
    env: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]
    healthcheck: tuple[str, ...] | None  # the HEALTHCHECK test command, None if unset
    diff_ids: tuple[str, ...]
    history: tuple[HistoryEntry, ...]
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()

    @property
    def platform(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    def layer_history(self) -> list[HistoryEntry | None]:
        """The history entry that created each layer, in layer order.

        Non-empty history entries correspond to layers one to one; when the
        counts disagree (hand-edited configs) nothing is attributed rather than
        attributing wrongly.
        """
        made = [h for h in self.history if not h.empty_layer]
        if len(made) != len(self.diff_ids):
            return [None] * len(self.diff_ids)
        return list(made)


def parse_config(data: bytes, what: str = "image config") -> ImageConfig:
    """Parse a Docker or OCI image config; ImageError when it is not one."""
    obj = load_json(data, what)
    if not isinstance(obj, dict):
        raise ImageError(f"{what} is not a JSON object")
    rootfs = obj.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise ImageError(f"{what} has no rootfs.diff_ids list: not an image config")
    runtime = obj.get("config") or {}
    if not isinstance(runtime, dict):
        runtime = {}
    return ImageConfig(
        os=str(obj.get("os", "")),
        architecture=str(obj.get("architecture", "")),
        variant=obj.get("variant") or None,
        user=str(runtime.get("User") or ""),
        env=_strings(runtime.get("Env")),
        labels=tuple(sorted(_labels(runtime.get("Labels")).items())),
        healthcheck=_healthcheck(runtime.get("Healthcheck")),
        diff_ids=tuple(check_digest(d) for d in diff_ids),
        history=tuple(_history(h) for h in obj.get("history") or () if isinstance(h, dict)),
        entrypoint=_strings(runtime.get("Entrypoint")),
        cmd=_strings(runtime.get("Cmd")),
    )


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _healthcheck(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, Mapping):
        return None
    test = _strings(value.get("Test"))
    return test or None


def _history(obj: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        created_by=str(obj.get("created_by") or ""),
        created=obj.get("created"),
        empty_layer=bool(obj.get("empty_layer", False)),
        comment=obj.get("comment"),
    )
