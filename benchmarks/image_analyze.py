"""Analyze the debootstrap test image from each source vs just decompressing its layers.

    .venv/bin/python benchmarks/image_analyze.py [--repeat N] [--no-daemon]

The image is the one the image tests build (`tests/image_env.py`: debootstrap
bookworm minbase plus two small layers, cached in .pipeline-guard-cache/); it is
built here if missing. The baseline, in the same run, is Python's zlib
decompressing the OCI layout's gzip layer blobs; the target is analysis (every
layer streamed and checked, OS, packages, attribution, config checks; no
advisory matching) within 1.5x of that. A registry and a Docker engine are
started here for their sources (root, docker-registry, dockerd and skopeo
needed; `--no-daemon` skips the engine). Prints median wall and CPU time
(all threads; the analyzer decompresses on a second thread, so CPU can exceed
wall) per measurement; nothing is asserted (a measurement, not a test).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from image_env import TAG, real_image, start_dockerd, start_registry

from pipeline_guard.image.analyze import AnalyzeSettings, analyze
from pipeline_guard.image.sources import SourceSettings

CHUNK = 1 << 20


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (all threads) of `repeat` runs."""
    wall, cpu = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return statistics.median(wall), statistics.median(cpu)


def gzip_layers(layout: Path) -> list[Path]:
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs/sha256" / manifest_digest).read_text())
    return [layout / "blobs/sha256" / d["digest"].split(":")[1] for d in manifest["layers"]]


def decompress_all(blobs: list[Path]) -> int:
    total = 0
    for blob in blobs:
        decoder = zlib.decompressobj(wbits=31)
        with blob.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                total += len(decoder.decompress(chunk))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-daemon", action="store_true")
    args = parser.parse_args()
    image = real_image()
    blobs = gzip_layers(image.layout)
    size = sum(b.stat().st_size for b in blobs)
    inflated = decompress_all(blobs)
    print(f"image: {image.root.name}, {len(blobs)} layers, {size / 1e6:.1f} MB gzip, "
          f"{inflated / 1e6:.1f} MB tar, {image.dpkg_packages} dpkg packages")  # fmt: skip
    baseline, baseline_cpu = timed(lambda: decompress_all(blobs), args.repeat)
    label = "zlib decompression of the layers"
    print(f"{label:<36} wall {baseline:6.3f} s  cpu {baseline_cpu:6.3f} s")
    settings = AnalyzeSettings(SourceSettings(insecure_registries=("loopback",)))
    refs = {"oci": image.oci_ref, "docker-archive": image.archive_ref}
    with tempfile.TemporaryDirectory(prefix="pg-bench-") as tmp:
        registry = start_registry(Path(tmp))
        engine = None
        try:
            refs["registry"] = registry.push(f"{image.layout}:{TAG}", "bench/bookworm:1")
            if not args.no_daemon:
                engine = start_dockerd()
                import docker

                client = docker.DockerClient(base_url=engine.host, timeout=300)
                with image.archive.open("rb") as archive:
                    client.images.load(archive)
                client.close()
                os.environ["DOCKER_HOST"] = engine.host
                refs["docker"] = "docker:pg-test/bookworm:latest"
            for source, ref in refs.items():
                wall, cpu = timed(lambda r=ref: analyze(r, settings), args.repeat)
                print(f"{'analyze from ' + source:<36} wall {wall:6.3f} s  cpu {cpu:6.3f} s  "
                      f"{wall / baseline:4.2f}x decompression (wall)")  # fmt: skip
        finally:
            registry.process.terminate()
            registry.process.wait()
            if engine is not None:
                engine.stop()


if __name__ == "__main__":
    main()
