"""Maven `pom.xml`: the dependencies a POM declares, with `${property}` versions.

Only declared dependencies are read; Maven's transitive resolution (parent
POMs, imported BOMs, version mediation) is not done, which a note says. A
version that is missing, a range, or a property this POM does not define is
reported as not checked. `dependencyManagement` supplies versions for
declared dependencies that omit one. Parsed with defusedxml: a POM is
untrusted input, and entity expansion must not be able to exhaust memory.
"""

from __future__ import annotations

import re

# Only the element types and TreeBuilder: parsing itself goes through defusedxml.
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from pipeline_guard.sources.base import (
    Dependency,
    ManifestError,
    NotChecked,
    ParsedManifest,
    basename,
)

_PROPERTY = re.compile(r"\$\{([^}]+)\}")
_LINE_ATTR = "{urn:pipeline-guard}line"
_MAX_PROPERTY_DEPTH = 10


@dataclass(frozen=True)
class _Declared:
    group: str
    artifact: str
    version: str | None
    scope: str
    optional: bool
    line: int


class _LineTreeBuilder(ET.TreeBuilder):
    """Records each element's start line, which ElementTree otherwise drops."""

    def __init__(self) -> None:
        super().__init__()
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        assert self.parser is not None
        line = self.parser.parser.CurrentLineNumber
        return super().start(tag, {**attrs, _LINE_ATTR: str(line)})


def _parse_xml(path: str, text: str) -> ET.Element:
    builder = _LineTreeBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=False, forbid_entities=True)
    builder.parser = parser
    try:
        parser.feed(text)
        return parser.close()  # type: ignore[no-any-return]
    except ET.ParseError as exc:
        raise ManifestError(path, exc.position[0], f"invalid XML: {exc}") from None
    except ExpatError as exc:
        raise ManifestError(path, exc.lineno, f"invalid XML: {exc}") from None
    except DefusedXmlException as exc:
        raise ManifestError(path, None, f"refused XML: {exc}") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _text(el: ET.Element, name: str) -> str | None:
    child = _child(el, name)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _line(el: ET.Element) -> int:
    return int(el.get(_LINE_ATTR, "0"))


def _dependencies(section: ET.Element | None) -> list[_Declared]:
    deps = _child(section, "dependencies") if section is not None else None
    if deps is None:
        return []
    out = []
    for dep in deps:
        if _local(dep.tag) != "dependency":
            continue
        out.append(
            _Declared(
                group=_text(dep, "groupId") or "",
                artifact=_text(dep, "artifactId") or "",
                version=_text(dep, "version"),
                scope=_text(dep, "scope") or "compile",
                optional=(_text(dep, "optional") or "").lower() == "true",
                line=_line(dep),
            )
        )
    return out


def _properties(project: ET.Element) -> dict[str, str]:
    props: dict[str, str] = {}
    block = _child(project, "properties")
    for prop in block if block is not None else ():
        props[_local(prop.tag)] = (prop.text or "").strip()
    parent = _child(project, "parent")
    for key in ("groupId", "version", "artifactId"):
        value = _text(project, key) or (_text(parent, key) if parent is not None else None)
        if value:
            props[f"project.{key}"] = value
            props.setdefault(f"pom.{key}", value)
        if parent is not None and _text(parent, key):
            props[f"project.parent.{key}"] = _text(parent, key) or ""
    return props


def _resolve(value: str, props: dict[str, str]) -> str | None:
    """Expand `${...}` from the POM's properties; None when one is undefined."""
    for _ in range(_MAX_PROPERTY_DEPTH):
        if "${" not in value:
            return value
        missing = [m for m in _PROPERTY.findall(value) if m not in props]
        if missing:
            return None
        value = _PROPERTY.sub(lambda m: props[m.group(1)], value)
    return None  # a property cycle


class MavenPomSource:
    name = "pom.xml"
    ecosystem = "Maven"

    def matches(self, path: str) -> bool:
        return basename(path) == "pom.xml"

    def parse(self, path: str, text: str) -> ParsedManifest:
        project = _parse_xml(path, text)
        if _local(project.tag) != "project":
            raise ManifestError(path, _line(project), "the root element is not <project>")
        props = _properties(project)
        managed = {
            (d.group, d.artifact): d
            for d in _dependencies(_child(project, "dependencyManagement"))
            if d.scope != "import"
        }
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        manifest.notes.append(
            f"{path}: only the dependencies it declares are checked; Maven's transitive "
            "dependencies are not resolved (lock them with a Gradle lockfile or check an SBOM)"
        )
        for dep in _dependencies(project):
            self._declared(manifest, dep, props, managed)
        return manifest

    def _declared(
        self,
        manifest: ParsedManifest,
        dep: _Declared,
        props: dict[str, str],
        managed: dict[tuple[str, str], _Declared],
    ) -> None:
        group = _resolve(dep.group, props) or dep.group
        name = f"{group}:{dep.artifact}"
        raw = dep.version or (managed.get((dep.group, dep.artifact)) or dep).version
        text = f"{name}:{raw or '(no version)'}"
        if raw is None:
            reason = "no version (managed by a parent POM or BOM)"
            manifest.not_checked.append(NotChecked(manifest.path, dep.line, text, reason, name))
            return
        version = _resolve(raw, props)
        if version is None:
            undefined = ", ".join(f"${{{m}}}" for m in _PROPERTY.findall(raw) if m not in props)
            reason = f"unresolved property {undefined or raw}"
            manifest.not_checked.append(NotChecked(manifest.path, dep.line, text, reason, name))
        elif version[:1] in "[(" or "," in version:
            manifest.not_checked.append(
                NotChecked(manifest.path, dep.line, text, "version range", name)
            )
        else:
            manifest.dependencies.append(
                Dependency(
                    self.ecosystem,
                    name,
                    version,
                    manifest.path,
                    dep.line,
                    direct=True,
                    dev=dep.scope == "test",
                    optional=dep.optional,
                    scope=dep.scope,
                )
            )
