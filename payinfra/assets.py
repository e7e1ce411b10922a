"""Where the templates and the Lambda source live: inside the wheel, or at the checkout's root."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _asset(name: str) -> Path:
    bundled = _PACKAGE / "_assets" / name
    return bundled if bundled.is_dir() else _PACKAGE.parent / name


def templates_dir() -> Path:
    return _asset("templates")


def lambda_source_dir() -> Path:
    return _asset("lambda_src")
