"""Browser libraries installed by ``npm ci`` (``package-lock.json``), served from the site.

Nothing is loaded from a CDN: the build copies these files from ``node_modules/`` into
``assets/vendor/``; they are never committed.
"""

from __future__ import annotations

from pathlib import Path

# (package, folder inside the package, glob patterns, destination under the site)
VENDORED = (
    (
        "katex",
        "dist",
        ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js", "fonts/*.woff2"),
        "assets/vendor/katex",
    ),
    ("tablesort", "dist", ("tablesort.min.js", "sorts/tablesort.number.min.js"), "assets/vendor/tablesort"),
)


class MissingAssets(Exception):
    pass


def vendored_files(repo_root: Path) -> list[tuple[Path, str]]:
    """``(source file, site path)`` for every vendored asset."""
    out = []
    for package, folder, patterns, dest in VENDORED:
        base = repo_root / "node_modules" / package / folder
        if not base.is_dir():
            raise MissingAssets(f"{base} is missing: run `make install` (it runs `npm ci` from package-lock.json)")
        for pattern in patterns:
            found = sorted(base.glob(pattern))
            if not found:
                raise MissingAssets(f"{base / pattern} is missing: run `npm ci`")
            out.extend((path, f"{dest}/{path.relative_to(base).as_posix()}") for path in found)
    return out
