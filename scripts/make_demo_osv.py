"""Rebuild examples/vulnerable-app/osv-demo/PyPI-all.zip from an OSV PyPI dump.

It keeps the real advisories that name the demo's pinned requirements, so the
README demo shows dependency findings with no network. Deterministic output:
sorted entries, fixed timestamps, like the dumps it is cut from.

    python scripts/make_demo_osv.py ../shared/data/osv/PyPI-all.zip
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "vulnerable-app"


def _pinned(requirements: Path) -> set[str]:
    names = set()
    for line in requirements.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==", line.strip())
        if match:
            names.add(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return names


def main(dump: str) -> None:
    wanted = _pinned(DEMO / "requirements.txt")
    out = DEMO / "osv-demo" / "PyPI-all.zip"
    out.parent.mkdir(exist_ok=True)
    kept = 0
    with zipfile.ZipFile(dump) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(src.namelist()):
            data = src.read(name)
            advisory = json.loads(data)
            names = {
                re.sub(r"[-_.]+", "-", a.get("package", {}).get("name", "")).lower()
                for a in advisory.get("affected", [])
            }
            if names & wanted:
                dst.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
                kept += 1
    print(f"{out}: {kept} advisories for {', '.join(sorted(wanted))}")


if __name__ == "__main__":
    main(sys.argv[1])
