"""Container image analysis without a Docker daemon (and with one).

`analyze(reference)` reads an image from a docker archive, an OCI layout, a
Docker daemon or a registry, streams its layers in order (never extracting to
disk), applies whiteouts, finds the OS and the installed packages with the
layer that introduced each, and checks the image configuration. Matching the
packages against advisories is the `image` scanner's job (scanners/image.py).
"""
