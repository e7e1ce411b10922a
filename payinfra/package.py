"""Build the Lambda deployment zip deterministically: same source, same bytes, same hash.

The zip holds exactly the processor package's Python files: regular `*.py` files under
`lambda_src/payment_processor/`. Dotfiles (a stray `.env`), caches and anything reached through a
symlink stay out, so nothing but reviewed source code is shipped to AWS.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from payinfra.errors import RenderError

PROCESSOR_PACKAGE = "payment_processor"
# Zip timestamps cannot predate 1980; a fixed one keeps the archive independent of checkout time.
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def build_zip(source: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in package_files(source):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), FIXED_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def package_files(source: Path) -> list[Path]:
    """The processor package's Python source files, sorted; never following a symlink."""
    package = source / PROCESSOR_PACKAGE
    if package.is_symlink() or not package.is_dir():
        raise RenderError(f"{package}: the processor package must be a real folder")
    found = []
    for folder, subfolders, names in os.walk(package, followlinks=False):
        # Hidden folders and caches are not source; pruning here keeps os.walk out of them.
        subfolders[:] = [name for name in subfolders if _is_source_name(name)]
        for name in names:
            path = Path(folder, name)
            if _is_source_name(name) and name.endswith(".py") and not path.is_symlink():
                found.append(path)
    return sorted(found)


def _is_source_name(name: str) -> bool:
    return not name.startswith(".") and name != "__pycache__"
