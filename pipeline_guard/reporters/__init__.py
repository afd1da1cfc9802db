"""Output formats. Each file format is a module with `render(report) -> str`
and `EXTENSION`; the console format prints instead of returning text."""

from __future__ import annotations

import importlib
from types import ModuleType

# format name -> module (imported lazily: a console-only run needs none of them)
FILE_FORMATS = {
    "json": "pipeline_guard.reporters.json_report",
    "sarif": "pipeline_guard.reporters.sarif",
    "markdown": "pipeline_guard.reporters.markdown",
    "html": "pipeline_guard.reporters.html",
    "junit": "pipeline_guard.reporters.junit",
    "gitlab": "pipeline_guard.reporters.gitlab",
    "pr-comment": "pipeline_guard.reporters.pr_comment",
}
FORMATS = ("console", *FILE_FORMATS)


def file_reporter(name: str) -> ModuleType:
    """The module rendering format `name`."""
    return importlib.import_module(FILE_FORMATS[name])
