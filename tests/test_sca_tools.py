"""The pip-audit, osv-scanner, trivy and grype adapters.

The tools are not installed here, so their parsers read real-format output
documents (tests/fixtures/sca_tools/); the adapters' error paths run for real
against a small executable named like the tool, first on PATH.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_guard.model import Finding, ScannerRun, Severity
from pipeline_guard.scanner import ScanContext, ScanFailure, _tool_version
from pipeline_guard.scanners.grype import GrypeScanner, parse_grype
from pipeline_guard.scanners.osv_scanner import OsvScannerTool, argv_for, parse_osv_scanner
from pipeline_guard.scanners.pip_audit import (
    PipAuditScanner,
    parse_pip_audit,
    skipped_dependencies,
)
from pipeline_guard.scanners.trivy import TrivyScanner, parse_trivy

FIXTURES = Path(__file__).parent / "fixtures" / "sca_tools"
ROOT = FIXTURES / "project"
FILES = ("requirements.txt", "web/package-lock.json")
CTX = ScanContext(root=ROOT, files=FILES)
RECORDED_ROOT = "/home/runner/work/demo"  # where the osv-scanner document was produced


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def by_rule(findings: list[Finding]) -> dict[str, Finding]:
    out = {f.rule_id: f for f in findings}
    assert len(out) == len(findings), "one finding per rule expected"
    return out


# --- pip-audit ---------------------------------------------------------------------------


def test_pip_audit_findings_use_ghsa_first_and_declared_lines() -> None:
    found = by_rule(parse_pip_audit(fixture("pip_audit.json"), CTX, "requirements.txt"))
    assert sorted(found) == [
        "GHSA-2g68-c3qc-8985",
        "GHSA-462w-v97r-4m45",
        "GHSA-9wx4-h78v-vm56",
        "GHSA-g3rq-g295-4j3m",
        "GHSA-m2qf-hxjv-5gpq",
    ]
    jinja = found["GHSA-462w-v97r-4m45"]
    assert jinja.advisories == ("GHSA-462w-v97r-4m45", "PYSEC-2019-217", "CVE-2019-10906")
    assert (jinja.location.path, jinja.location.start_line) == ("requirements.txt", 3)
    assert jinja.package is not None
    assert (jinja.package.name, jinja.package.version) == ("Jinja2", "2.10")  # manifest spelling
    assert jinja.package.fixed_versions == ("2.10.1",)
    assert jinja.package.purl == "pkg:pypi/jinja2@2.10"
    assert jinja.severity == Severity.MEDIUM and "severity:default" in jinja.tags
    assert jinja.help_url == "https://osv.dev/vulnerability/GHSA-462w-v97r-4m45"
    assert "Upgrade Jinja2 to 2.10.1 or later." in jinja.message
    flask = found["GHSA-m2qf-hxjv-5gpq"]
    assert flask.location.start_line == 2
    assert "Upgrade flask to 2.2.5 or later." in flask.message
    # werkzeug is resolved transitively: not declared in the file, so line 1
    werkzeug = found["GHSA-2g68-c3qc-8985"]
    assert werkzeug.location.start_line == 1 and werkzeug.package is not None
    assert werkzeug.package.name == "werkzeug"


def test_pip_audit_skip_reason_is_listed() -> None:
    assert skipped_dependencies(fixture("pip_audit_skipped.json")) == [
        "internal-tools: Dependency not found on PyPI and could not be audited: "
        "internal-tools (1.4.0)"
    ]
    assert skipped_dependencies(fixture("pip_audit.json")) == []


@pytest.mark.parametrize("text", ["not json", '{"deps": []}', '{"dependencies": [{"x": 1}]}'])
def test_pip_audit_malformed_json_is_parse_failure(text: str) -> None:
    with pytest.raises(ScanFailure) as info:
        parse_pip_audit(text, CTX, "requirements.txt")
    assert info.value.kind == "parse"


# --- osv-scanner -------------------------------------------------------------------------


def osv_document() -> str:
    return fixture("osv_scanner_v2.json").replace(RECORDED_ROOT, str(ROOT.resolve()))


def test_osv_scanner_groups_become_one_finding_each() -> None:
    found = by_rule(parse_osv_scanner(osv_document(), CTX))
    assert sorted(found) == ["GHSA-462w-v97r-4m45", "GHSA-g3rq-g295-4j3m", "GHSA-p6mc-m468-83gw"]
    sandbox = found["GHSA-462w-v97r-4m45"]
    assert sandbox.advisories == ("GHSA-462w-v97r-4m45", "PYSEC-2019-217", "CVE-2019-10906")
    assert (sandbox.severity, sandbox.cvss_score) == (Severity.HIGH, 8.6)
    assert sandbox.cvss_vector == "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N"
    assert sandbox.cwes == ("CWE-693",) and "severity:cvss" in sandbox.tags
    assert (sandbox.location.path, sandbox.location.start_line) == ("requirements.txt", 3)
    assert sandbox.package is not None and sandbox.package.name == "Jinja2"
    assert sandbox.title == "Jinja2 2.10: Jinja2 sandbox escape via string formatting"
    # an empty max_severity: the record's own CVSS vector rates it (5.3 -> medium)
    redos = found["GHSA-g3rq-g295-4j3m"]
    assert (redos.severity, redos.cvss_score) == (Severity.MEDIUM, 5.3)
    assert "severity:database" in redos.tags
    lodash = found["GHSA-p6mc-m468-83gw"]
    assert (lodash.location.path, lodash.location.start_line) == ("web/package-lock.json", 14)
    assert lodash.package is not None and lodash.package.fixed_versions == ("4.17.19",)
    assert lodash.severity == Severity.HIGH and lodash.cwes == ("CWE-1321", "CWE-770")


def test_osv_scanner_argv_follows_major_version() -> None:
    assert argv_for("1.9.2", "/src") == ["osv-scanner", "--json", "-r", "/src"]
    assert argv_for("2.0.3", "/src")[:5] == ["osv-scanner", "scan", "source", "--format", "json"]


def test_osv_scanner_no_results_and_malformed() -> None:
    assert parse_osv_scanner('{"results": null}', CTX) == []
    with pytest.raises(ScanFailure) as info:
        parse_osv_scanner('{"results": [{"packages": []}]}', CTX)
    assert info.value.kind == "parse"


# --- trivy -------------------------------------------------------------------------------


def test_trivy_findings_carry_tool_severity_cvss_and_linked_ghsa() -> None:
    found = by_rule(parse_trivy(fixture("trivy.json"), CTX))
    assert sorted(found) == ["GHSA-35jh-r3h4-6jhm", "GHSA-462w-v97r-4m45", "GHSA-9wx4-h78v-vm56"]
    jinja = found["GHSA-462w-v97r-4m45"]
    assert jinja.advisories == ("GHSA-462w-v97r-4m45", "CVE-2019-10906")
    assert (jinja.severity, jinja.cvss_score) == (Severity.HIGH, 8.6)
    assert jinja.help_url == "https://avd.aquasec.com/nvd/cve-2019-10906"
    assert jinja.location.start_line == 3 and jinja.cwes == ("CWE-693",)
    # UNKNOWN severity falls back to the CVSS score
    requests = found["GHSA-9wx4-h78v-vm56"]
    assert (requests.severity, requests.cvss_score) == (Severity.MEDIUM, 5.6)
    assert "severity:cvss" in requests.tags and requests.location.start_line == 4
    lodash = found["GHSA-35jh-r3h4-6jhm"]
    assert lodash.location.path == "web/package-lock.json" and lodash.location.start_line == 14
    assert lodash.package is not None and lodash.package.ecosystem == "npm"


def test_trivy_empty_and_malformed() -> None:
    assert parse_trivy('{"SchemaVersion": 2, "ArtifactName": "."}', CTX) == []
    for text in ("[]", '{"Results": [{"Vulnerabilities": []}]}', "<html>"):
        with pytest.raises(ScanFailure) as info:
            parse_trivy(text, CTX)
        assert info.value.kind == "parse"


# --- grype -------------------------------------------------------------------------------


def test_grype_findings_locate_artifacts_under_the_scanned_dir() -> None:
    found = by_rule(parse_grype(fixture("grype.json"), CTX))
    assert sorted(found) == ["GHSA-462w-v97r-4m45", "GHSA-9wx4-h78v-vm56", "GHSA-p6mc-m468-83gw"]
    lodash = found["GHSA-p6mc-m468-83gw"]
    assert lodash.advisories == ("GHSA-p6mc-m468-83gw", "CVE-2020-8203")
    assert (lodash.location.path, lodash.location.start_line) == ("web/package-lock.json", 14)
    assert (lodash.severity, lodash.cvss_score) == (Severity.HIGH, 7.4)
    assert "Upgrade lodash to 4.17.19 or later." in lodash.message
    requests = found["GHSA-9wx4-h78v-vm56"]
    assert requests.severity == Severity.MEDIUM and "severity:cvss" in requests.tags


def test_grype_malformed() -> None:
    with pytest.raises(ScanFailure) as info:
        parse_grype('{"matches": [{"vulnerability": {}}]}', CTX)
    assert info.value.kind == "parse"


def test_same_advisory_from_every_tool_has_the_same_fingerprint_basis() -> None:
    """The core fingerprints sca findings on (manifest, ecosystem, name, version,
    first advisory): every tool must agree for the Jinja2 sandbox escape."""

    def basis(f: Finding) -> tuple[object, ...]:
        assert f.package is not None
        p = f.package
        return (p.manifest, p.ecosystem, p.name, p.version, f.advisories[0])

    reports = [
        parse_pip_audit(fixture("pip_audit.json"), CTX, "requirements.txt"),
        parse_osv_scanner(osv_document(), CTX),
        parse_trivy(fixture("trivy.json"), CTX),
        parse_grype(fixture("grype.json"), CTX),
    ]
    bases = {basis(by_rule(r)["GHSA-462w-v97r-4m45"]) for r in reports}
    assert bases == {("requirements.txt", "PyPI", "Jinja2", "2.10", "GHSA-462w-v97r-4m45")}


def test_severity_option_overrides_by_alias() -> None:
    from pipeline_guard.scanners._sca_common import apply_overrides

    findings = parse_trivy(fixture("trivy.json"), CTX)
    apply_overrides(findings, {"severity": {"CVE-2019-10906": "low"}}, "trivy")
    jinja = by_rule(findings)["GHSA-462w-v97r-4m45"]
    assert jinja.severity == Severity.LOW and "severity:config" in jinja.tags


# --- the adapters against a fake executable (error paths only) ---------------------------


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty bin dir first on PATH (and nothing else), version cache cleared."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    _tool_version.cache_clear()
    yield bin_dir
    _tool_version.cache_clear()


def install(bin_dir: Path, name: str, body: str) -> None:
    """A Python script named `name`: `--version` prints a version, else runs `body`."""
    script = bin_dir / name
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "if sys.argv[1:] == ['--version']:\n    print('2.0.1'); sys.exit(0)\n" + body,
        encoding="utf-8",
    )
    script.chmod(0o755)


def only_error(run: ScannerRun) -> tuple[str, str, str]:
    assert len(run.errors) == 1, run.errors
    e = run.errors[0]
    return e.kind, e.message, e.detail


@pytest.mark.parametrize("scanner", [PipAuditScanner, OsvScannerTool, TrivyScanner, GrypeScanner])
def test_missing_tool_does_not_apply_and_scan_says_missing(
    fake_bin: Path, scanner: type[PipAuditScanner]
) -> None:
    adapter = scanner()
    assert adapter.applies(CTX) is False and adapter.version() is None
    kind, message, _ = only_error(adapter.scan(CTX))
    assert kind == "missing" and adapter.name in message


def test_installed_tool_applies_only_with_its_inputs(fake_bin: Path) -> None:
    install(fake_bin, "pip-audit", "sys.exit(0)\n")
    install(fake_bin, "grype", "sys.exit(0)\n")
    assert PipAuditScanner().applies(CTX) is True
    assert (
        PipAuditScanner().applies(ScanContext(root=ROOT, files=("web/package-lock.json",))) is False
    )
    assert GrypeScanner().applies(CTX) is True
    assert GrypeScanner().applies(ScanContext(root=ROOT, files=("README.md",))) is False


def test_osv_scanner_printing_garbage_is_a_parse_error(fake_bin: Path) -> None:
    install(fake_bin, "osv-scanner", "print('Scanning dir ...  done'); sys.exit(0)\n")
    run = OsvScannerTool().scan(CTX)
    kind, message, detail = only_error(run)
    assert kind == "parse" and "osv-scanner printed something that is not JSON" in message
    assert "Scanning dir" in detail and run.findings == () and run.tool_version == "2.0.1"


def test_trivy_crash_reports_stderr_and_the_argv(fake_bin: Path) -> None:
    install(
        fake_bin,
        "trivy",
        "sys.stderr.write('FATAL db error: ' + ' '.join(sys.argv[1:]) + '\\n'); sys.exit(1)\n",
    )
    kind, message, detail = only_error(TrivyScanner({"skip_db_update": True}).scan(CTX))
    assert kind == "crash" and message == "trivy exited with code 1"
    assert f"FATAL db error: fs --format json --scanners vuln --quiet --skip-db-update {ROOT}" in (
        detail
    )


def test_grype_bad_option_is_config_error(fake_bin: Path) -> None:
    install(fake_bin, "grype", "sys.exit(0)\n")
    kind, message, _ = only_error(GrypeScanner({"skip_db_update": "yes"}).scan(CTX))
    assert kind == "config" and "grype.skip_db_update" in message


def test_pip_audit_network_error_is_a_crash_not_zero_findings(fake_bin: Path) -> None:
    install(
        fake_bin,
        "pip-audit",
        'print(\'{"dependencies": [], "fixes": []}\')\n'
        'sys.stderr.write("requests.exceptions.ConnectionError: '
        "HTTPSConnectionPool(host='pypi.org',"
        ' port=443): Max retries exceeded\\n"); sys.exit(1)\n',
    )
    run = PipAuditScanner().scan(CTX)
    kind, message, detail = only_error(run)
    assert kind == "crash" and "network error" in message and "requirements.txt" in message
    assert "Max retries exceeded" in detail and run.findings == ()


def test_pip_audit_skipped_dependencies_are_an_error_and_findings_kept(fake_bin: Path) -> None:
    document = json.dumps(json.loads(fixture("pip_audit_skipped.json")))
    install(fake_bin, "pip-audit", f"print({document!r}); sys.exit(1)\n")
    run = PipAuditScanner().scan(CTX)
    kind, message, detail = only_error(run)
    assert (
        kind == "input" and message == "pip-audit did not audit 1 dependencies of requirements.txt"
    )
    assert "internal-tools" in detail
    assert [f.rule_id for f in run.findings] == ["GHSA-m2qf-hxjv-5gpq"]
    assert run.findings[0].location.start_line == 2
