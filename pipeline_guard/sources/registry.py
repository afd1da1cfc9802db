"""Every supported manifest format, and which one reads a given file."""

from __future__ import annotations

from pipeline_guard.sources.base import DependencySource
from pipeline_guard.sources.cargo import CargoLockSource
from pipeline_guard.sources.composer import ComposerLockSource
from pipeline_guard.sources.gemfile import GemfileLockSource
from pipeline_guard.sources.gomod import GoModSource, GoSumSource
from pipeline_guard.sources.gradle import GradleLockSource
from pipeline_guard.sources.maven import MavenPomSource
from pipeline_guard.sources.npm import NpmLockSource
from pipeline_guard.sources.nuget import NugetLockSource
from pipeline_guard.sources.pdm import PdmLockSource
from pipeline_guard.sources.pipfile import PipfileLockSource
from pipeline_guard.sources.pnpm import PnpmLockSource
from pipeline_guard.sources.poetry import PoetryLockSource
from pipeline_guard.sources.requirements import RequirementsSource
from pipeline_guard.sources.uv import UvLockSource
from pipeline_guard.sources.yarn import YarnLockSource

SOURCES: tuple[DependencySource, ...] = (
    RequirementsSource(),
    PipfileLockSource(),
    PoetryLockSource(),
    UvLockSource(),
    PdmLockSource(),
    NpmLockSource(),
    YarnLockSource(),
    PnpmLockSource(),
    GoModSource(),
    GoSumSource(),
    CargoLockSource(),
    GemfileLockSource(),
    ComposerLockSource(),
    GradleLockSource(),
    MavenPomSource(),
    NugetLockSource(),
)


def source_for(path: str) -> DependencySource | None:
    """The parser for the file at `path` (relative, POSIX), or None."""
    return next((s for s in SOURCES if s.matches(path)), None)
