"""Java archives: Maven coordinates from `META-INF/maven/<group>/<artifact>/pom.properties`
inside `.jar`, `.war` and `.ear` files, including archives nested in them
(Spring Boot `BOOT-INF/lib/`, `WEB-INF/lib/`).

Archives are read from memory with `zipfile` as their layer streams past
(never written to disk), within `image.max_file_bytes`; nested archives are
opened two levels deep at most and share that byte budget. Declared entry sizes
bound what zipfile decompresses, so a zip bomb stops at the budget.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import BinaryIO

from pipeline_guard.image.catalogers.base import Cataloger, CatalogResult, FoundPackage
from pipeline_guard.image.filesystem import Interest, MergedFS, Want
from pipeline_guard.image.osrelease import OSInfo
from pipeline_guard.sources.base import purl_for

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear")
MAX_NESTING = 2
MAX_ENTRIES = 200_000
MAX_PROPERTIES_BYTES = 64 * 1024
#: nested archives read from one top-level archive, in total
MAX_NESTED_BYTES = 256 * 1024 * 1024
_POM_PROPERTIES = re.compile(r"^META-INF/maven/[^/]+/[^/]+/pom\.properties$")
# `key=value` or `key: value`; comment lines start with # or ! and do not match
_PROPERTY = re.compile(r"^([^=:\s#!][^=:\s]*)\s*[=:]\s*(.*)$")


@dataclass(frozen=True)
class MavenArtifact:
    group: str
    artifact: str
    version: str
    inner: str  # where inside the archive, e.g. `BOOT-INF/lib/x.jar!/META-INF/maven/...`


@dataclass
class JarScan:
    artifacts: list[MavenArtifact] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    nested_bytes: int = 0


def is_java_archive(path: str) -> bool:
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def read_archive(path: str, stream: BinaryIO, size: int) -> JarScan:
    """The Maven artifacts in one archive (STREAM reader: runs as the layer is read)."""
    scan = JarScan()
    _scan(stream.read(), "", 0, scan)
    return scan


def _scan(data: bytes, prefix: str, depth: int, scan: JarScan) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        scan.problems.append(f"{prefix or 'archive'}: not a readable zip ({exc})")
        return
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            scan.problems.append(f"{prefix or 'archive'}: more than {MAX_ENTRIES} entries")
            return
        for info in entries:
            try:
                _entry(archive, info, prefix, depth, scan)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
                scan.problems.append(f"{prefix}{info.filename}: {exc}")


def _entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, prefix: str, depth: int, scan: JarScan
) -> None:
    name = info.filename
    if _POM_PROPERTIES.match(name) and info.file_size <= MAX_PROPERTIES_BYTES:
        found = _artifact(archive.read(info), prefix + name)
        if found is not None:
            scan.artifacts.append(found)
    elif depth < MAX_NESTING and name.lower().endswith(ARCHIVE_SUFFIXES):
        if scan.nested_bytes + info.file_size > MAX_NESTED_BYTES:
            scan.problems.append(f"{prefix}{name}: nested archives past the size budget")
            return
        scan.nested_bytes += info.file_size
        _scan(archive.read(info), f"{prefix}{name}!/", depth + 1, scan)


def _artifact(data: bytes, inner: str) -> MavenArtifact | None:
    props: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        match = _PROPERTY.match(line.strip())
        if match:
            props[match.group(1)] = match.group(2).strip()
    group, artifact, version = props.get("groupId"), props.get("artifactId"), props.get("version")
    if not group or not artifact or not version:
        return None
    return MavenArtifact(group, artifact, version, inner)


def catalog(fs: MergedFS, os_info: OSInfo | None) -> CatalogResult:
    result = CatalogResult()
    for path, scan in fs.extracts("java-archive"):
        result.notes.extend(f"/{path}: {problem}" for problem in scan.problems)
        for art in scan.artifacts:
            name = f"{art.group}:{art.artifact}"
            result.packages.append(
                FoundPackage(
                    kind="maven",
                    ecosystem="Maven",
                    name=name,
                    version=art.version,
                    path=f"{path}!/{art.inner}",
                    layer=fs.layer_of(path),
                    purl=purl_for("Maven", name, art.version),
                )
            )
    return result


CATALOGER = Cataloger(
    name="java",
    interests=(Interest("java-archive", is_java_archive, Want.STREAM, read_archive),),
    catalog=catalog,
)
