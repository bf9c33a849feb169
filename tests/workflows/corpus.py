"""The replay corpus: real runs of each released workflow version, append-only.

tests/histories/<version>/<name>.json holds what running tickets of that
version look like. MANIFEST pins every file's SHA-256, so a history that is
deleted, edited or re-recorded fails `make test`. `make histories` records
new runs into the current version's folder and seals them here; it never
rewrites a file or a manifest line.

    python -m tests.workflows.corpus seal   # add files not yet in the manifest
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
MANIFEST = HISTORIES / "MANIFEST"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def on_disk() -> dict[str, Path]:
    """Every saved history, by its path relative to tests/histories (`v1/loss_found_on_day_6.json`)."""
    return {p.relative_to(HISTORIES).as_posix(): p for p in sorted(HISTORIES.glob("*/*.json"))}


def manifest() -> dict[str, str]:
    """The sealed histories: relative path to SHA-256 (the `sha256sum` format, so `sha256sum -c` reads it)."""
    if not MANIFEST.exists():
        return {}
    entries = {}
    for line in MANIFEST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            sha, name = line.split(maxsplit=1)
            entries[name.strip()] = sha
    return entries


def seal() -> list[str]:
    """Append the histories not yet in the manifest; existing lines are never touched."""
    sealed = manifest()
    new = [(name, digest(path)) for name, path in on_disk().items() if name not in sealed]
    if new:
        with MANIFEST.open("a") as out:
            for name, sha in new:
                out.write(f"{sha}  {name}\n")
    return [name for name, _ in new]


if __name__ == "__main__":
    if sys.argv[1:] != ["seal"]:
        raise SystemExit("usage: python -m tests.workflows.corpus seal")
    added = seal()
    print(f"sealed {len(added)} new histories" + "".join(f"\n  {n}" for n in added))
