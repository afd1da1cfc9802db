"""Range evaluation against the data's own enumerations, and per-ecosystem matches on real records.

PyPA's advisories carry both `ranges` and the enumerated `versions` those
ranges cover, computed by osv.dev from PyPI's release list. Evaluating only
the ranges must reproduce the enumeration for (nearly) every listed version;
the few disagreements are quirks of the data, printed for the record.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline_guard.vulndb.matcher import affected_by, match_package, merge_aliases
from pipeline_guard.vulndb.versions import InvalidVersion, ordering_for

SHARED = Path(
    os.environ.get("PIPELINE_GUARD_SHARED", Path(__file__).resolve().parents[2] / "shared")
)
OSV_DIR = SHARED / "data" / "osv"


def iter_zip(zip_name: str) -> Iterator[dict[str, Any]]:
    with zipfile.ZipFile(OSV_DIR / f"{zip_name}-all.zip") as zf:
        for name in zf.namelist():
            yield json.loads(zf.read(name))


def advisory(zip_name: str, advisory_id: str) -> dict[str, Any]:
    with zipfile.ZipFile(OSV_DIR / f"{zip_name}-all.zip") as zf:
        return json.loads(zf.read(f"{advisory_id}.json"))  # type: ignore[no-any-return]


def via(adv: dict[str, Any], eco: str, name: str, version: str) -> str | None:
    found = affected_by(adv, eco, name, version)
    return found.via if found else None


def test_pypi_ranges_reproduce_enumerated_versions() -> None:
    pep440 = ordering_for("PyPI")
    checked = agreed = unparseable = advisories = withdrawn = 0
    disagreements: list[tuple[str, str]] = []
    for adv in iter_zip("PyPI"):
        if adv.get("withdrawn"):
            withdrawn += 1  # skipped by design: they match nothing
            continue
        for entry in adv["affected"]:
            if not entry.get("versions") or not any(
                r["type"] == "ECOSYSTEM" for r in entry.get("ranges", ())
            ):
                continue
            advisories += 1
            ranges_only = {**adv, "affected": [{**entry, "versions": []}]}
            name = entry["package"]["name"]
            for version in entry["versions"]:
                try:
                    pep440.key(version)
                except InvalidVersion:
                    unparseable += 1  # only the enumeration can match these
                    continue
                checked += 1
                if affected_by(ranges_only, "PyPI", name, version) is not None:
                    agreed += 1
                else:
                    disagreements.append((adv["id"], version))
    rate = agreed / checked
    print(
        f"\n{advisories} entries, {checked} (advisory, version) pairs, {agreed} agree "
        f"({rate:.4%}); {unparseable} non-PEP 440 versions; {withdrawn} withdrawn skipped"
    )
    for advisory_id, version in disagreements:
        print(f"  range says unaffected, enumeration lists it: {advisory_id} {version}")
    assert advisories >= 2600
    assert checked >= 139_000
    assert rate >= 0.999
    # The known quirks: pre-releases below `introduced` (django 3.2a1 < 3.2), a fix
    # version listed as affected (gevent 23.9.0), overlapping unsorted pairs (wagtail).
    assert {("PYSEC-2023-61", "3.2a1"), ("PYSEC-2023-177", "23.9.0"),
            ("PYSEC-2021-114", "2.11.6")} <= set(disagreements)  # fmt: skip


def test_enumeration_still_matches_where_ranges_disagree() -> None:
    adv = advisory("PyPI", "PYSEC-2023-61")
    assert via(adv, "PyPI", "django", "3.2a1") == "versions"
    assert via(adv, "PyPI", "django", "3.2.18") == "range"
    assert via(adv, "PyPI", "django", "4.1.9") is None


def test_debian_release_is_matched_exactly() -> None:
    adv = advisory("Debian", "DSA-5169-1")  # openssl: deb10u3 for Debian 10, deb11u3 for 11
    assert via(adv, "Debian:11", "openssl", "1.1.1n-0+deb11u2") == "range"
    assert via(adv, "Debian:11", "openssl", "1.1.1n-0+deb11u3") is None
    assert via(adv, "Debian:10", "openssl", "1.1.1n-0+deb10u3") is None
    assert via(adv, "Debian:10", "openssl", "1.1.1n-0+deb10u2") == "range"
    # Release-qualified ecosystems are not interchangeable, nor is the bare name.
    assert via(adv, "Debian:12", "openssl", "1.1.1n-0+deb11u2") is None
    assert via(adv, "Debian", "openssl", "1.1.1n-0+deb11u2") is None
    # dpkg ordering: "~" sorts before the release it precedes.
    assert via(adv, "Debian:11", "openssl", "1.1.1n-0+deb11u3~bpo1") == "range"
    match = match_package([adv], "Debian:11", "openssl", "1.1.1k-1")
    assert match[0].lowest_fix_above() == "1.1.1n-0+deb11u3"
    assert set(match[0].related) == {"CVE-2022-2068", "DEBIAN-CVE-2022-2068"}


def test_alpine_apk_ordering() -> None:
    adv = advisory("Alpine", "ALPINE-CVE-2016-10009")  # openssh fixed 7.2_p2-r3 in v3.3
    assert via(adv, "Alpine:v3.3", "openssh", "7.2_p2-r2") == "range"
    assert via(adv, "Alpine:v3.3", "openssh", "7.2_p2-r3") is None
    assert via(adv, "Alpine:v3.3", "openssh", "7.2_p2-r10") is None  # revision is numeric
    assert via(adv, "Alpine:v3.3", "openssh", "7.2-r5") == "range"  # _p is a post-release
    assert via(adv, "Alpine:v3.3", "openssh", "7.2_rc1-r0") == "range"
    assert via(adv, "Alpine:v3.3", "openssh", "7.3_p1-r0") is None
    assert via(adv, "Alpine:v3.4", "openssh", "7.2_p2-r2") in (None, "range")  # per-release entry
    match = match_package([adv], "Alpine:v3.3", "openssh", "7.2_p2-r1")
    assert match[0].ids[0] == "ALPINE-CVE-2016-10009"
    assert match[0].related == ("CVE-2016-10009",)


def test_almalinux_rpm_epoch_ordering() -> None:
    adv = advisory("AlmaLinux", "ALSA-2019:0975")  # oci-systemd-hook fixed 1:0.1.15-2...
    name = "oci-systemd-hook"
    fix = "1:0.1.15-2.git2d0b8a3.module_el8.5.0+119+9a9ec082"
    assert (
        via(adv, "AlmaLinux:8", name, "1:0.1.15-1.git2d0b8a3.module_el8.5.0+119+9a9ec082")
        == "range"
    )
    assert via(adv, "AlmaLinux:8", name, fix) is None
    # Without the epoch, even a much higher version is older than any epoch-1 version.
    assert via(adv, "AlmaLinux:8", name, "0.9.0-1.el8") == "range"
    assert via(adv, "AlmaLinux:8", name, "2:0.1.0-1.el8") is None
    assert via(adv, "AlmaLinux:9", name, "1:0.1.14-1.el8") is None
    match = match_package([adv], "AlmaLinux:8", name, "1:0.1.14-1.el8")
    # Three module-stream entries for the package: every fix is listed, in rpm order.
    assert len(match[0].fixed_versions) == 3
    assert match[0].fixed_versions[-1] == fix
    assert match[0].lowest_fix_above() == "1:0.1.15-2.git2d0b8a3.module_el8.3.0+2044+12421f43"


def test_go_stdlib_and_toolchain_versions() -> None:
    adv = advisory("Go", "GO-2023-1987")  # crypto/tls: <1.19.12, 1.20.0-0..1.20.7, 1.21.0-0..rc.4
    assert via(adv, "Go", "stdlib", "go1.19.11") == "range"
    assert via(adv, "Go", "stdlib", "go1.19.12") is None
    assert via(adv, "Go", "stdlib", "go1.20") == "range"
    assert via(adv, "Go", "stdlib", "go1.20.7") is None
    assert via(adv, "Go", "stdlib", "go1.21rc3") == "range"
    assert via(adv, "Go", "stdlib", "go1.21rc4") is None
    assert via(adv, "Go", "stdlib", "v1.19.11") == "range"
    assert via(adv, "Go", "toolchain", "go1.19.11") is None  # a different package


def test_go_module_pseudo_versions_and_incompatible() -> None:
    count = 0
    for adv in iter_zip("Go"):
        for entry in adv["affected"]:
            for rng in entry.get("ranges", ()):
                fixes = [e["fixed"] for e in rng["events"] if "fixed" in e]
                if rng["events"][0] == {"introduced": "0"} and len(fixes) == 1 and count < 200:
                    count += 1
                    name, fix = entry["package"]["name"], fixes[0]
                    assert via(adv, "Go", name, "v" + fix) is None
                    assert via(adv, "Go", name, "v" + fix + "+incompatible") is None
                    assert via(adv, "Go", name, "v0.0.0-20000101000000-000000000000") == "range"
    assert count == 200


def test_npm_last_affected() -> None:
    hits = 0
    for adv in iter_zip("npm"):
        for entry in adv["affected"]:
            if entry["package"]["ecosystem"] != "npm":
                continue
            for rng in entry.get("ranges", ()):
                last = [e["last_affected"] for e in rng["events"] if "last_affected" in e]
                if not last:
                    continue
                hits += 1
                assert via(adv, "npm", entry["package"]["name"], last[0]) == "range", adv["id"]
                major, minor, patch = last[0].split("-")[0].split(".")
                above = f"{major}.{minor}.{int(patch) + 1}"
                found = affected_by(adv, "npm", entry["package"]["name"], above)
                # Unaffected unless another entry or range of the record covers it.
                assert found is None or found.via == "range"
    assert hits >= 5


def test_merged_findings_across_the_ghsa_subset() -> None:
    # Every GHSA record for a PyPI package merges with the PYSEC record that aliases it.
    pysec = {a["id"]: a for a in iter_zip("PyPI")}
    ghsa = advisory("Maven", "GHSA-77rm-9x9h-xj3g")
    linked = [a for a in pysec.values() if ghsa["id"] in a.get("aliases", ())]
    assert [a["id"] for a in linked] == ["PYSEC-2022-48"]
    merged = merge_aliases(match_package([*linked, ghsa], "PyPI", "protobuf", "3.0.0"))
    assert [m.ids for m in merged] == [("GHSA-77rm-9x9h-xj3g", "PYSEC-2022-48", "CVE-2021-22570")]
