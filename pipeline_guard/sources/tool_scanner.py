"""The base of adapters for tools that read lockfiles themselves (pip-audit,
osv-scanner, trivy, grype)."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline_guard.model import Category
from pipeline_guard.scanner import ScanContext, Scanner, find_tool, tool_version
from pipeline_guard.sources.loader import manifest_files


class LockfileTool(Scanner):
    """A tool that reads the lockfiles itself: it runs where it is installed and
    there are lockfiles; its version is its own `--version`."""

    category = Category.SCA

    def applies(self, ctx: ScanContext) -> bool:
        return find_tool(self.name) is not None and bool(self.inputs(ctx))

    def targets(self, ctx: ScanContext) -> int:
        return len(self.inputs(ctx))

    def version(self) -> str | None:
        return tool_version(self.name)

    def inputs(self, ctx: ScanContext) -> Sequence[object]:
        """The files this tool reads (default: every lockfile we know)."""
        return manifest_files(ctx.files)
