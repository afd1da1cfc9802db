"""CycloneDX SBOM (JSON, spec 1.5 or 1.6) of the dependencies a tree's lockfiles pin.

Built with cyclonedx-python-lib. One component per package URL; a package
pinned by several manifests is one component listing each place in its
`pipeline-guard:manifest` properties (`path:line`). Scope follows the
CycloneDX meaning: `required` when any manifest needs it at runtime,
`optional` when only optional dependencies need it, `excluded` when only dev
dependencies do.

The dependency graph is not emitted: most lockfiles here do not give it, and
an incomplete graph would read as a complete one (see `_without_graph`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cyclonedx.model import Property, Tool
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentScope, ComponentType
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from packageurl import PackageURL

from pipeline_guard import __version__
from pipeline_guard.sources.base import Dependency
from pipeline_guard.sources.loader import Collected, collect

SPEC_VERSIONS = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}
DEFAULT_SPEC = "1.6"
MANIFEST_PROPERTY = "pipeline-guard:manifest"
ECOSYSTEM_PROPERTY = "pipeline-guard:ecosystem"

# Ecosystems whose names carry a CycloneDX `group` (Go module paths stay whole names).
_GROUP_SEPARATORS = {"npm": "/", "Packagist": "/", "Maven": ":"}


def build_sbom(
    dependencies: Iterable[Dependency],
    root_name: str,
    *,
    spec_version: str = DEFAULT_SPEC,
    serial_number: UUID | None = None,
    timestamp: datetime | None = None,
) -> str:
    """CycloneDX JSON describing `root_name` and the dependencies found in it.

    `serial_number` and `timestamp` default to a fresh UUID and now; pass them
    for a reproducible document.
    """
    schema = SPEC_VERSIONS.get(spec_version)
    if schema is None:
        raise ValueError(
            f"unsupported CycloneDX version {spec_version!r} (use {' or '.join(SPEC_VERSIONS)})"
        )
    metadata = BomMetaData(
        component=Component(name=root_name, type=ComponentType.APPLICATION, bom_ref=root_name),
        timestamp=timestamp,
    )
    metadata.tools.add(Tool(name="pipeline-guard", version=__version__))
    bom = Bom(serial_number=serial_number, metadata=metadata)
    for component in _components(dependencies):
        bom.components.add(component)
    with warnings.catch_warnings():
        # The library warns that the graph is incomplete; leaving it out is deliberate.
        warnings.simplefilter("ignore", UserWarning)
        raw = make_outputter(bom, OutputFormat.JSON, schema).output_as_string()
    return _without_graph(json.loads(raw))


def _without_graph(document: dict[str, Any]) -> str:
    """Drop the `dependencies` the library fills in, header keys first.

    The library lists every component with an empty `dependsOn`, which in
    CycloneDX asserts "has no dependencies"; absent means "unknown", the truth.
    """
    document.pop("dependencies", None)
    head = ("$schema", "bomFormat", "specVersion", "serialNumber", "version", "metadata")
    ordered = {k: document[k] for k in head if k in document}
    ordered.update((k, v) for k, v in document.items() if k not in ordered)
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


def sbom_for_tree(
    root: Path, files: Iterable[str], *, spec_version: str = DEFAULT_SPEC
) -> tuple[str, Collected]:
    """The SBOM of every manifest among `files`, and what was read (for its notes and errors)."""
    collected = collect(root, list(files))
    return build_sbom(collected.dependencies, root.name, spec_version=spec_version), collected


def _components(dependencies: Iterable[Dependency]) -> list[Component]:
    by_purl: dict[str, list[Dependency]] = {}
    for dep in dependencies:
        by_purl.setdefault(dep.purl, []).append(dep)
    return [_component(purl, deps) for purl, deps in sorted(by_purl.items())]


def _component(purl: str, deps: list[Dependency]) -> Component:
    first = deps[0]
    group, name = _group_and_name(first.ecosystem, first.name)
    places = dict.fromkeys(f"{d.manifest}:{d.line}" for d in deps)
    return Component(
        name=name,
        group=group,
        version=first.version,
        type=ComponentType.LIBRARY,
        purl=PackageURL.from_string(purl),
        bom_ref=purl,
        scope=_scope(deps),
        properties=[
            Property(name=ECOSYSTEM_PROPERTY, value=first.ecosystem),
            *(Property(name=MANIFEST_PROPERTY, value=place) for place in places),
        ],
    )


def _group_and_name(ecosystem: str, name: str) -> tuple[str | None, str]:
    sep = _GROUP_SEPARATORS.get(ecosystem)
    if sep and sep in name:
        group, _, rest = name.rpartition(sep)
        return group, rest
    return None, name


def _scope(deps: list[Dependency]) -> ComponentScope:
    if any(not d.dev and not d.optional for d in deps):
        return ComponentScope.REQUIRED
    if any(not d.dev for d in deps):
        return ComponentScope.OPTIONAL
    return ComponentScope.EXCLUDED
