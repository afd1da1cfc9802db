"""pipeline-guard: one orchestrator for SAST, SCA, IaC, secrets and image scanners."""

__version__ = "0.1.0"
