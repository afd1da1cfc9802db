"""The README stays true: its workflow is the validated one, its config
reference names every key of the schema, its command list every command."""

from __future__ import annotations

import re

from conftest import REPO, run_cli

from pipeline_guard.config import config_schema

README = (REPO / "README.md").read_text()


def test_readme_workflow_is_the_validated_example() -> None:
    example = (REPO / "examples" / "workflows" / "pr.yml").read_text().rstrip()
    assert f"```yaml\n{example}\n```" in README


def test_readme_names_every_config_key() -> None:
    schema = config_schema()
    keys = set(schema["properties"])
    for scanner in schema["properties"]["scanners"]["properties"].values():
        keys |= {k for k in scanner["properties"] if k not in ("enabled", "timeout", "severity")}
    keys |= set(schema["properties"]["custom_scanners"]["items"]["properties"])
    keys |= set(schema["definitions"]["stage"]["properties"])
    keys |= set(schema["properties"]["ignore"]["items"]["properties"])
    missing = sorted(k for k in keys if not re.search(rf"\b{re.escape(k)}\b", README))
    assert missing == []


def test_readme_lists_every_command() -> None:
    help_text = run_cli("--help").stdout
    commands = re.findall(r"^  ([a-z][a-z-]*)  ", help_text.split("Commands:")[1], re.M)
    assert len(commands) >= 8
    for command in commands:
        assert f"pipeline-guard {command}" in README, command
