"""One image from reference to inventory: OS, packages with their layers, config issues.

with open_image(reference) as image:      # any of the four sources
    for layer in image.layers:            # in order, as tar streams
        fs.apply(layer)                   # whiteouts, kept files, attribution
os = detect_os(fs); packages = catalogers(fs, os); issues = check_config(image.config)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline_guard.image.catalogers import CATALOGERS, Cataloger, FoundPackage
from pipeline_guard.image.config_checks import ConfigIssue, check_config
from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.filesystem import Interest, LayerInfo, MergedFS
from pipeline_guard.image.imageconfig import ImageConfig
from pipeline_guard.image.layers import Budget, LayerReader
from pipeline_guard.image.osrelease import INTERESTS as OS_INTERESTS
from pipeline_guard.image.osrelease import OSInfo, detect_os
from pipeline_guard.image.reference import ImageReference, parse_reference
from pipeline_guard.image.sources import SourceImage, SourceSettings, open_image


@dataclass(frozen=True)
class AnalyzeSettings:
    source: SourceSettings = field(default_factory=SourceSettings)
    catalogers: tuple[str, ...] = tuple(CATALOGERS)
    config_checks: bool = True


@dataclass(frozen=True)
class ImageAnalysis:
    """Everything known about one image after reading it once."""

    reference: ImageReference
    image_id: str  # the config digest
    manifest_digest: str | None
    tags: tuple[str, ...]
    platform: str
    os: OSInfo | None
    layers: tuple[LayerInfo, ...]
    packages: tuple[FoundPackage, ...]
    config: ImageConfig
    config_issues: tuple[ConfigIssue, ...]
    notes: tuple[str, ...] = ()


def analyze(
    reference: str | ImageReference, settings: AnalyzeSettings | None = None
) -> ImageAnalysis:
    """Read the image `reference` names from its source and analyze it."""
    settings = settings or AnalyzeSettings()
    ref = parse_reference(reference) if isinstance(reference, str) else reference
    with open_image(ref, settings.source) as image:
        return analyze_image(image, settings)


def analyze_image(image: SourceImage, settings: AnalyzeSettings) -> ImageAnalysis:
    """Analyze an image a source has opened (its layers are read here, once each)."""
    catalogers = _catalogers(settings.catalogers)
    interests: list[Interest] = list(OS_INTERESTS)
    for cataloger in catalogers:
        interests.extend(cataloger.interests)
    limits = settings.source.limits
    fs = MergedFS(interests, limits.max_file_bytes)
    budget = Budget(limits)
    history = image.config.layer_history()
    for layer in image.layers:
        step = history[layer.index]
        info = LayerInfo(
            layer.index, layer.diff_id, layer.digest, step.created_by if step else None
        )
        what = f"{image.reference} layer {info.number} ({layer.diff_id})"
        with layer.open() as blob, LayerReader(blob, layer.diff_id, what, budget) as reader:
            fs.apply(info, reader)
    os_info = detect_os(fs)
    notes = list(fs.notes)
    packages: list[FoundPackage] = []
    for cataloger in catalogers:
        result = cataloger.catalog(fs, os_info)
        packages.extend(result.packages)
        notes.extend(result.notes)
    issues = check_config(image.config) if settings.config_checks else []
    return ImageAnalysis(
        reference=image.reference,
        image_id=image.config_digest,
        manifest_digest=image.manifest_digest,
        tags=image.tags,
        platform=image.config.platform,
        os=os_info,
        layers=tuple(fs.layers),
        packages=tuple(packages),
        config=image.config,
        config_issues=tuple(issues),
        notes=tuple(notes),
    )


def _catalogers(names: Sequence[str]) -> list[Cataloger]:
    unknown = [n for n in names if n not in CATALOGERS]
    if unknown:
        raise ImageError(
            f"unknown cataloger {unknown[0]!r} (known: {', '.join(CATALOGERS)})", "config"
        )
    # Registry order, not the user's: the catch-all Go interest must stay last.
    return [c for name, c in CATALOGERS.items() if name in names]
