"""Where things live in the repository."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CATALOG = REPO_ROOT / "catalog.yaml"
SCHEMA_PATH = REPO_ROOT / "catalog.schema.json"
REFIMPL_DIR = REPO_ROOT / "refimpl"
CACHE_DIR = REPO_ROOT / ".cache" / "paperkb"
