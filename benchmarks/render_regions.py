"""Time `payinfra render` (load, validate, render, write) for 2, 4, 8 and 16 regions.

Run: .venv/bin/python benchmarks/render_regions.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from ipaddress import IPv4Network
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from payinfra.config import load_environment
from payinfra.regions import AWS_REGIONS
from payinfra.render import render_environment
from payinfra.writer import write_tree

REPEATS = 20


def environments_folder(root: Path, region_count: int) -> Path:
    names = ["us-east-1", *sorted(AWS_REGIONS - {"us-east-1"})[: region_count - 1]]
    blocks = IPv4Network("10.0.0.0/8").subnets(new_prefix=16)
    regions = [
        {
            "name": name,
            "role": "source" if index == 0 else "target",
            "cidr": str(next(blocks)),
            "azs": [f"{name}a", f"{name}b", f"{name}c"],
        }
        for index, name in enumerate(names)
    ]
    folder = root / f"envs{region_count}"
    folder.mkdir()
    defaults = {"project": "bench", "migration_batch": "b1"}
    (folder / "_defaults.yaml").write_text(yaml.safe_dump(defaults))
    (folder / "bench.yaml").write_text(yaml.safe_dump({"regions": regions}))
    return folder


def time_render(folder: Path, out: Path) -> list[float]:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        write_tree(render_environment(load_environment(folder, "bench")), out)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    print(f"{'regions':>7} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'files':>6} {'bytes':>8}")
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        for count in (2, 4, 8, 16):
            folder = environments_folder(root, count)
            out = root / f"out{count}"
            samples = time_render(folder, out)
            files = render_environment(load_environment(folder, "bench"))
            size = sum(
                len(content if isinstance(content, bytes) else content.encode())
                for content in files.values()
            )
            print(
                f"{count:>7} {statistics.median(samples):>10.2f} {min(samples):>8.2f} "
                f"{max(samples):>8.2f} {len(files):>6} {size:>8}"
            )


if __name__ == "__main__":
    main()
