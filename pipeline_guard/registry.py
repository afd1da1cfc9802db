"""Finding scanner adapters: entry points in the `pipeline_guard.scanners` group.

Our own adapters are registered in pyproject.toml exactly like a third party's
would be, so a plug-in needs no change to this code. Tools that only write
SARIF are configured under `custom_scanners:` and need no code at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points

from pipeline_guard.config import Config, ConfigError
from pipeline_guard.scanner import Scanner

GROUP = "pipeline_guard.scanners"


@dataclass(frozen=True)
class BrokenPlugin:
    """An entry point that failed to load: reported, not fatal."""

    name: str
    error: str


@cache
def scanner_classes() -> tuple[dict[str, type[Scanner]], tuple[BrokenPlugin, ...]]:
    """Every registered scanner class by name, and the plug-ins that failed to load."""
    classes: dict[str, type[Scanner]] = {}
    broken = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plug-in must not break the tool
            broken.append(BrokenPlugin(ep.name, f"{type(exc).__name__}: {exc}"))
            continue
        if isinstance(cls, type) and issubclass(cls, Scanner):
            classes[ep.name] = cls
        else:
            broken.append(BrokenPlugin(ep.name, f"{ep.value} is not a Scanner subclass"))
    return classes, tuple(broken)


def known_scanner_names() -> frozenset[str]:
    return frozenset(scanner_classes()[0])


def build_scanners(config: Config) -> list[Scanner]:
    """Instances of every enabled scanner, configured from pipeline-guard.yml."""
    from pipeline_guard.scanners.sarif import SarifCommandScanner, validate_options

    classes, _ = scanner_classes()
    where = config.path.name if config.path else "pipeline-guard.yml"
    for i, options in enumerate(config.custom_scanners):
        problems = validate_options(options)
        if options.get("name") in classes:
            problems.append(f"name {options['name']!r} is already a built-in scanner")
        if problems:
            raise ConfigError("\n".join(f"{where}: custom_scanners[{i}]: {p}" for p in problems))
    scanners: list[Scanner] = [
        cls(config.scanner_options(name)) for name, cls in classes.items() if config.enabled(name)
    ]
    scanners.extend(
        SarifCommandScanner(options)
        for options in config.custom_scanners
        if options.get("enabled", True)
    )
    return scanners
