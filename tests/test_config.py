"""pipeline-guard.yml: validation errors name file, line and the fix."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest

from pipeline_guard.config import PRESETS, ConfigError, config_schema, load_config
from pipeline_guard.model import Category, Severity

KNOWN = frozenset({"semgrep", "bandit", "checkov", "secrets", "osv"})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline-guard.yml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), KNOWN)
    return str(info.value)


def test_no_file_gives_presets() -> None:
    config = load_config(None)
    assert config.stage("release") == PRESETS["release"]
    assert config.stage("precommit").fail_on_category == {Category.SECRET: Severity.INFO}
    assert config.enabled("semgrep")


def test_unknown_key_names_line_and_closest_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, "version: 1\nscanners:\n  bandit:\n    skipp: [B101]\n")
    assert "pipeline-guard.yml:4:" in message
    assert "unknown key 'skipp'" in message
    assert "did you mean 'skip'?" in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, "version: 1\n\nexclud:\n  - vendor/\n")
    assert "pipeline-guard.yml:3:" in message
    assert "did you mean 'exclude'?" in message


def test_unknown_scanner_name(tmp_path: Path) -> None:
    message = error_of(tmp_path, "scanners:\n  semgerp:\n    enabled: false\n")
    assert "pipeline-guard.yml:2:" in message
    assert "unknown scanner 'semgerp'" in message
    assert "did you mean 'semgrep'?" in message


def test_wrong_type_names_expected_type(tmp_path: Path) -> None:
    message = error_of(tmp_path, "stages:\n  release:\n    max:\n      high: lots\n")
    assert "pipeline-guard.yml:4:" in message
    assert "stages.release.max.high must be of type integer" in message


def test_bad_enum(tmp_path: Path) -> None:
    message = error_of(tmp_path, "stages:\n  pr:\n    fail_on: hihg\n")
    assert "pipeline-guard.yml:3:" in message
    assert "'high'" in message


def test_ignore_requires_reason(tmp_path: Path) -> None:
    message = error_of(tmp_path, "ignore:\n  - rule: B101\n")
    assert "pipeline-guard.yml:2:" in message
    assert "'reason' is a required property" in message


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, "version: 1\nexclude: [a]\nexclude: [b]\n")
    assert "pipeline-guard.yml:3: duplicate key 'exclude' (first at line 2)" in message


def test_yaml_syntax_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, "scanners:\n  bandit: [unclosed\n")
    assert "pipeline-guard.yml:" in message
    assert "not valid YAML" in message


def test_impossible_date(tmp_path: Path) -> None:
    message = error_of(tmp_path, "ignore:\n  - rule: X\n    reason: r\n    expires: 2026-02-31\n")
    assert "pipeline-guard.yml:2:" in message
    assert "not a real date" in message


def test_stage_overrides_replace_preset_keys_only(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "stages:\n  release:\n    fail_on: critical\n    max: {medium: 3}\n"),
        KNOWN,
    )
    release = config.stage("release")
    assert release.fail_on is Severity.CRITICAL
    assert release.max_counts == {Severity.MEDIUM: 3}
    assert release.fail_on_scanner_error is True  # kept from the preset


def test_ignore_entries_are_parsed_with_their_line(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "version: 1\nignore:\n  - rule: B101\n    path: 'tests/**'\n"
            "    reason: asserts in tests\n    owner: qa\n    expires: 2030-01-31\n",
        ),
        KNOWN,
    )
    (rule,) = config.ignores
    assert rule.source == "pipeline-guard.yml:3"
    assert rule.expires == dt.date(2030, 1, 31)
    assert not rule.expired(dt.date(2030, 1, 31))
    assert rule.expired(dt.date(2030, 2, 1))


def test_starter_config_is_valid(tmp_path: Path) -> None:
    from pipeline_guard.cli import STARTER_CONFIG

    config = load_config(write(tmp_path, STARTER_CONFIG), KNOWN)
    assert config.stage("pr").new_only


def test_schema_is_valid_draft7() -> None:
    jsonschema.Draft7Validator.check_schema(config_schema())
    shipped = Path(__file__).resolve().parents[1] / "pipeline_guard/schemas/config.schema.json"
    assert json.loads(shipped.read_text()) == config_schema()
