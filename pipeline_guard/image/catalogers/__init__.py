"""Package catalogers, one module per kind of package; `CATALOGERS` in the order they run.

The Go cataloger looks at every executable, so it comes last: the filesystem
gives a file to the first cataloger whose interest matches.
"""

from __future__ import annotations

from pipeline_guard.image.catalogers import apk, dpkg, gobinary, java, node, python, rpm
from pipeline_guard.image.catalogers.base import Cataloger, CatalogResult, FoundPackage

CATALOGERS: dict[str, Cataloger] = {
    c.name: c
    for c in (
        dpkg.CATALOGER,
        apk.CATALOGER,
        rpm.CATALOGER,
        python.CATALOGER,
        node.CATALOGER,
        java.CATALOGER,
        gobinary.CATALOGER,
    )
}

__all__ = ["CATALOGERS", "CatalogResult", "Cataloger", "FoundPackage"]
