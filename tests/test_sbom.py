"""CycloneDX SBOMs from real lockfiles, validated against the schema cyclonedx-python-lib ships."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from pipeline_guard.sbom import build_sbom, sbom_for_tree
from pipeline_guard.sources.base import Dependency

FIXTURES = Path(__file__).parent / "fixtures" / "lockfiles"
SCHEMAS = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}


def validate(text: str, spec: str) -> None:
    error = JsonStrictValidator(SCHEMAS[spec]).validate_str(text)
    assert error is None, error


def components(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["purl"]: c for c in document["components"]}


def manifests(component: dict[str, Any]) -> list[str]:
    return [p["value"] for p in component["properties"] if p["name"] == "pipeline-guard:manifest"]


@pytest.mark.parametrize("spec", ["1.5", "1.6"])
def test_sbom_of_every_fixture_validates(spec: str) -> None:
    files = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*") if p.is_file())
    text, collected = sbom_for_tree(FIXTURES, files, spec_version=spec)
    validate(text, spec)
    doc = json.loads(text)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == spec
    assert doc["metadata"]["component"] == {
        "bom-ref": "lockfiles",
        "name": "lockfiles",
        "type": "application",
    }
    assert "dependencies" not in doc  # no graph rather than a wrong one
    purls = {d.purl for d in collected.dependencies}
    assert set(components(doc)) == purls
    assert len(doc["components"]) == len(purls) == 115


def test_components_carry_purl_group_scope_and_every_manifest() -> None:
    text, _ = sbom_for_tree(
        FIXTURES,
        ["npm-v1/package-lock.json", "npm-v3/package-lock.json", "maven/pom.xml", "uv/uv.lock"],
    )
    validate(text, "1.6")
    by_purl = components(json.loads(text))
    lodash = by_purl["pkg:npm/lodash@4.17.15"]
    assert (lodash["name"], lodash["version"], lodash["scope"]) == ("lodash", "4.17.15", "required")
    assert manifests(lodash) == ["npm-v1/package-lock.json:48"]
    types_node = by_purl["pkg:npm/%40types/node@20.11.5"]
    assert (types_node["group"], types_node["name"], types_node["scope"]) == (
        "@types",
        "node",
        "excluded",  # dev-only
    )
    fsevents = by_purl["pkg:npm/fsevents@2.3.3"]
    assert fsevents["scope"] == "optional"
    jackson = by_purl["pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.10.1"]
    assert (jackson["group"], jackson["name"]) == ("com.fasterxml.jackson.core", "jackson-databind")
    assert manifests(jackson) == ["maven/pom.xml:41"]
    assert by_purl["pkg:pypi/pysocks@1.7.1"]["scope"] == "optional"
    assert {p["name"]: p["value"] for p in by_purl["pkg:pypi/requests@2.31.0"]["properties"]} == {
        "pipeline-guard:ecosystem": "PyPI",
        "pipeline-guard:manifest": "uv/uv.lock:79",
    }


def test_one_component_per_package_url() -> None:
    deps = [
        Dependency("npm", "minimist", "1.2.0", "a/package-lock.json", 9, dev=True),
        Dependency("npm", "minimist", "1.2.0", "b/yarn.lock", 4),
        Dependency("Go", "github.com/gin-gonic/gin", "v1.7.0", "go.mod", 8),
    ]
    text = build_sbom(
        deps,
        "shop",
        spec_version="1.5",
        serial_number=UUID("0f7e4b2c-3a4d-4e5f-8a9b-0c1d2e3f4a5b"),
        timestamp=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )
    validate(text, "1.5")
    doc = json.loads(text)
    assert doc["serialNumber"] == "urn:uuid:0f7e4b2c-3a4d-4e5f-8a9b-0c1d2e3f4a5b"
    assert doc["metadata"]["timestamp"] == "2024-05-01T12:00:00+00:00"
    assert {"name": "pipeline-guard", "version": "0.1.0"} in doc["metadata"]["tools"]
    by_purl = components(doc)
    assert list(by_purl) == [
        "pkg:golang/github.com/gin-gonic/gin@v1.7.0",
        "pkg:npm/minimist@1.2.0",
    ]
    minimist = by_purl["pkg:npm/minimist@1.2.0"]
    assert minimist["scope"] == "required"  # dev in one manifest, runtime in the other
    assert manifests(minimist) == ["a/package-lock.json:9", "b/yarn.lock:4"]
    gin = by_purl["pkg:golang/github.com/gin-gonic/gin@v1.7.0"]
    assert gin["name"] == "github.com/gin-gonic/gin" and "group" not in gin


def test_same_input_same_document() -> None:
    deps = [Dependency("PyPI", "Django", "3.2.4", "requirements.txt", 7)]
    kwargs: dict[str, Any] = {
        "serial_number": UUID("11111111-2222-4333-8444-555555555555"),
        "timestamp": datetime(2024, 1, 1, tzinfo=UTC),
    }
    assert build_sbom(deps, "app", **kwargs) == build_sbom(deps, "app", **kwargs)


def test_unknown_spec_version() -> None:
    with pytest.raises(
        ValueError, match=r"unsupported CycloneDX version '1\.2' \(use 1\.5 or 1\.6\)"
    ):
        build_sbom([], "app", spec_version="1.2")
