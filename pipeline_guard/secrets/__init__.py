"""pipeline-guard's own secrets engine: a detector table, a scanner and redaction.

Our own rather than detect-secrets: that tool cannot share a venv with checkov (its fork
`bc-detect-secrets` installs the same module) and spends seconds on a single README.
"""

from pipeline_guard.secrets.detectors import DETECTOR_IDS, DETECTORS, Detector
from pipeline_guard.secrets.engine import FileScan, SecretMatch, SecretsEngine
from pipeline_guard.secrets.redact import Scrubber, mask, scrub

__all__ = [
    "DETECTORS",
    "DETECTOR_IDS",
    "Detector",
    "FileScan",
    "Scrubber",
    "SecretMatch",
    "SecretsEngine",
    "mask",
    "scrub",
]
