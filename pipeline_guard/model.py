"""The finding model: the one currency every scanner, gate and reporter shares.

Everything here is a frozen dataclass. Adapters build `Finding`s with an empty
fingerprint; `normalize` fills it in. The JSON form (`to_dict` / `from_dict`)
is documented by `pipeline_guard/schemas/finding.schema.json` and round-trips.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class Severity(enum.IntEnum):
    """Normalized severity. Integer order makes `>=` comparisons read naturally."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Parse `critical|high|medium|low|info` (any case); ValueError otherwise."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in sorted(cls, reverse=True))
            raise ValueError(f"unknown severity {value!r} (expected one of: {names})") from None


class Category(enum.StrEnum):
    SAST = "sast"
    SCA = "sca"
    IMAGE = "image"
    IAC = "iac"
    SECRET = "secret"  # noqa: S105 - a category name, not a credential


@dataclass(frozen=True)
class Location:
    """Where a finding is: a path relative to the scan root (POSIX separators)."""

    path: str
    start_line: int | None = None
    end_line: int | None = None
    start_column: int | None = None
    end_column: int | None = None
    snippet: str | None = None


@dataclass(frozen=True)
class Package:
    """The dependency a sca/image finding is about."""

    ecosystem: str
    name: str
    version: str
    fixed_versions: tuple[str, ...] = ()
    manifest: str | None = None
    layer: str | None = None
    purl: str | None = None


@dataclass(frozen=True)
class Suppression:
    """Why a finding is accepted. Suppressed findings are kept, never dropped."""

    kind: str  # "external" (config or baseline) or "inSource" (inline comment)
    reason: str
    source: str  # where the suppression was declared, e.g. "pipeline-guard.yml:12"
    owner: str | None = None
    expires: str | None = None  # ISO date


@dataclass(frozen=True)
class Source:
    """One scanner's report of a finding; a deduplicated finding lists them all."""

    scanner: str
    rule_id: str
    start_line: int | None = None


@dataclass(frozen=True)
class Finding:
    scanner: str
    category: Category
    rule_id: str
    title: str
    message: str
    severity: Severity
    location: Location
    confidence: str | None = None
    package: Package | None = None
    advisories: tuple[str, ...] = ()  # primary id first, then aliases
    cwes: tuple[str, ...] = ()  # "CWE-78"
    help_url: str | None = None
    tags: tuple[str, ...] = ()
    cvss_score: float | None = None
    cvss_vector: str | None = None
    fingerprint: str = ""
    sources: tuple[Source, ...] = ()
    suppression: Suppression | None = None
    baseline_state: str | None = None  # "new" or "unchanged" in the pr stage

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        loc = data["location"]
        pkg = data.get("package")
        sup = data.get("suppression")
        return cls(
            scanner=data["scanner"],
            category=Category(data["category"]),
            rule_id=data["rule_id"],
            title=data["title"],
            message=data["message"],
            severity=Severity.parse(data["severity"]),
            location=Location(**loc),
            confidence=data.get("confidence"),
            package=Package(**{**pkg, "fixed_versions": tuple(pkg.get("fixed_versions", ()))})
            if pkg
            else None,
            advisories=tuple(data.get("advisories", ())),
            cwes=tuple(data.get("cwes", ())),
            help_url=data.get("help_url"),
            tags=tuple(data.get("tags", ())),
            cvss_score=data.get("cvss_score"),
            cvss_vector=data.get("cvss_vector"),
            fingerprint=data.get("fingerprint", ""),
            sources=tuple(Source(**s) for s in data.get("sources", ())),
            suppression=Suppression(**sup) if sup else None,
            baseline_state=data.get("baseline_state"),
        )


@dataclass(frozen=True)
class ScannerError:
    """A scanner that could not do its job. Reported, never hidden."""

    scanner: str
    kind: str  # missing | timeout | crash | parse | config | input
    message: str
    detail: str = ""  # e.g. the tail of stderr


@dataclass(frozen=True)
class ScannerRun:
    """What one scanner produced in one scan."""

    scanner: str
    category: Category
    tool_version: str | None
    findings: tuple[Finding, ...] = ()
    errors: tuple[ScannerError, ...] = ()
    duration: float = 0.0
    targets: int = 0  # files (or lockfiles, images) handed to the tool
    notes: tuple[str, ...] = ()  # e.g. "requirements.txt:3 flask>=2 not checked: unpinned"
    stale_data: tuple[str, ...] = ()  # e.g. "PyPI advisories are 12 days old"
    # Raw secret values found; every output is scrubbed of them.
    redact: tuple[str, ...] = field(default=(), repr=False)

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, Severity):
        return value.label
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "__dataclass_fields__"):
        return {
            f.name: _to_jsonable(getattr(value, f.name))
            for f in fields(value)
            if f.repr or f.name != "redact"
        }
    if isinstance(value, tuple | list):
        return [_to_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Verdict:
    """The gate's decision for one stage, with every reason it failed."""

    stage: str
    passed: bool
    exit_code: int  # 0 passed, 1 gate failed, 3 scanner failed and the stage fails closed
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScanReport:
    """Everything one scan produced; what reporters render."""

    root: str
    stage: str
    findings: tuple[Finding, ...]  # normalized, deduplicated, suppressions applied
    runs: tuple[ScannerRun, ...]
    verdict: Verdict
    started_at: str  # ISO 8601 UTC
    duration: float
    tool_version: str
    notes: tuple[str, ...] = ()  # warnings for the user (stale DB, expired ignores, ...)
    commit: str | None = None  # head commit, for links
    skipped: tuple[str, ...] = ()  # "checkov: no files it understands"

    @property
    def active(self) -> tuple[Finding, ...]:
        """Findings not suppressed."""
        return tuple(f for f in self.findings if f.suppression is None)

    @property
    def errors(self) -> tuple[ScannerError, ...]:
        return tuple(e for r in self.runs for e in r.errors)
