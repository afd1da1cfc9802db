"""Which OS an image is, and the OSV ecosystem its packages are matched in.

Read from `/etc/os-release` (or `/usr/lib/os-release`, its usual symlink
target), with `/etc/alpine-release`, `/etc/debian_version` and
`/etc/redhat-release` as fallbacks for images that lack it.

| os-release ID     | ecosystem                                   |
| ----------------- | ------------------------------------------- |
| debian            | `Debian:<major>` (codename when no number)  |
| ubuntu            | `Ubuntu:<YY.MM>`, `:LTS` appended for LTS   |
| alpine            | `Alpine:v<major>.<minor>`                   |
| almalinux         | `AlmaLinux:<major>`                         |
| rocky             | `Rocky Linux:<major>`                       |
| wolfi/chainguard  | `Wolfi` / `Chainguard`                      |
| rhel, centos, ... | none: packages are listed, not matched      |

Distroless images are Debian underneath: `ID=debian` with
`PRETTY_NAME="Distroless"`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace

from pipeline_guard.image.filesystem import Interest, MergedFS

OS_RELEASE = ("etc/os-release", "usr/lib/os-release")
FALLBACKS = ("etc/alpine-release", "etc/debian_version", "etc/redhat-release")
PATHS = frozenset((*OS_RELEASE, *FALLBACKS))
INTERESTS = (Interest("os-release", PATHS.__contains__),)

DEBIAN_CODENAMES = {
    "wheezy": "7",
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
}
_RHEL_RELEASE = re.compile(r"^(?P<name>.+?) release (?P<version>[0-9][0-9.]*)")


@dataclass(frozen=True)
class OSInfo:
    id: str  # os-release ID: debian, ubuntu, alpine, almalinux, rocky, rhel, ...
    version_id: str
    pretty_name: str
    source: str  # the file it was read from
    codename: str | None = None
    id_like: tuple[str, ...] = ()
    distroless: bool = False
    ecosystem: str | None = None  # OSV ecosystem with release, None if not matchable

    @property
    def family(self) -> str:
        """debian, alpine or rhel: decides which package databases to expect."""
        for name in (self.id, *self.id_like):
            if name in ("debian", "ubuntu"):
                return "debian"
            if name in ("alpine", "wolfi", "chainguard"):
                return "alpine"
            if name in ("rhel", "fedora", "centos", "almalinux", "rocky", "ol"):
                return "rhel"
        return self.id


def detect_os(fs: MergedFS) -> OSInfo | None:
    """The image's OS, or None (scratch and static images have none)."""
    for path in OS_RELEASE:
        data = fs.read(path)
        if data is not None:
            return from_os_release(data.decode("utf-8", "replace"), path)
    return _from_fallbacks(fs)


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines, values shell-quoted (os-release(5))."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        fields[key.strip()] = parts[0] if parts else ""
    return fields


def from_os_release(text: str, source: str) -> OSInfo:
    fields = parse_os_release(text)
    os_id = fields.get("ID", "").lower() or "linux"
    codename = fields.get("VERSION_CODENAME") or _codename_in(fields.get("VERSION", ""))
    version = fields.get("VERSION_ID", "")
    if os_id == "debian" and not version and codename:
        version = DEBIAN_CODENAMES.get(codename, "")
    pretty = fields.get("PRETTY_NAME", "")
    info = OSInfo(
        id=os_id,
        version_id=version,
        pretty_name=pretty or f"{os_id} {version}".strip(),
        source=source,
        codename=codename or None,
        id_like=tuple(fields.get("ID_LIKE", "").lower().split()),
        distroless=pretty == "Distroless" or "distroless" in fields.get("HOME_URL", ""),
    )
    lts = "LTS" in fields.get("VERSION", "")
    return _with_ecosystem(info, lts)


def _codename_in(version: str) -> str | None:
    match = re.search(r"\(([a-z]+)\)", version)
    return match.group(1) if match else None


def _with_ecosystem(info: OSInfo, lts: bool = False) -> OSInfo:
    return replace(info, ecosystem=ecosystem_for(info.id, info.version_id, lts))


def ecosystem_for(os_id: str, version: str, lts: bool = False) -> str | None:
    """The OSV ecosystem (with release) for an OS, or None when there is none."""
    major = version.split(".")[0]
    if not major and os_id not in ("wolfi", "chainguard"):
        return None
    if os_id == "debian":
        return f"Debian:{major}"
    if os_id == "ubuntu":
        return f"Ubuntu:{version}{':LTS' if lts else ''}"
    if os_id == "alpine":
        parts = version.split(".")
        return f"Alpine:v{parts[0]}.{parts[1]}" if len(parts) >= 2 else None
    if os_id == "almalinux":
        return f"AlmaLinux:{major}"
    if os_id == "rocky":
        return f"Rocky Linux:{major}"
    if os_id == "wolfi":
        return "Wolfi"
    if os_id == "chainguard":
        return "Chainguard"
    return None


def _from_fallbacks(fs: MergedFS) -> OSInfo | None:
    alpine = fs.read("etc/alpine-release")
    if alpine is not None:
        version = alpine.decode("utf-8", "replace").strip()
        info = OSInfo("alpine", version, f"Alpine Linux v{version}", "etc/alpine-release")
        return _with_ecosystem(info)
    debian = fs.read("etc/debian_version")
    if debian is not None:
        text = debian.decode("utf-8", "replace").strip()
        version = text.split(".")[0] if text[:1].isdigit() else ""
        info = OSInfo("debian", version, f"Debian {text}", "etc/debian_version")
        return _with_ecosystem(info)
    redhat = fs.read("etc/redhat-release")
    if redhat is not None:
        text = redhat.decode("utf-8", "replace").strip()
        match = _RHEL_RELEASE.match(text)
        os_id = _rhel_id(text)
        version = match.group("version") if match else ""
        return _with_ecosystem(
            OSInfo(os_id, version, text, "etc/redhat-release", id_like=("rhel",))
        )
    return None


def _rhel_id(text: str) -> str:
    lowered = text.lower()
    for marker, os_id in (("almalinux", "almalinux"), ("rocky", "rocky"), ("centos", "centos")):
        if marker in lowered:
            return os_id
    return "rhel"
