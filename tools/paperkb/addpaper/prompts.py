"""Asking for missing fields on a terminal, and editing an entry in ``$EDITOR``."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO


class Prompter:
    """Asks only when interactive; otherwise returns the default without a word."""

    def __init__(
        self, interactive: bool, input_fn: Callable[[str], str] = input, out: TextIO | None = None
    ) -> None:
        self.interactive = interactive
        self.input_fn = input_fn
        self.out = out or sys.stderr

    def ask(
        self,
        label: str,
        default: str | None = None,
        *,
        required: bool = False,
        check: Callable[[str], str | None] | None = None,
    ) -> str | None:
        """The answer (stripped), or ``default`` for an empty answer. ``check`` returns an error or None."""
        if not self.interactive:
            return default
        shown = f" [{default}]" if default else ""
        while True:
            try:
                answer = self.input_fn(f"{label}{shown}: ").strip()
            except EOFError:
                answer = ""
            value = answer or default
            if not value:
                if required:
                    print(f"  {label} is required", file=self.out)
                    continue
                return None
            problem = check(value) if check else None
            if problem:
                print(f"  {problem}", file=self.out)
                if not self.interactive:
                    return None
                continue
            return value

    def confirm(self, label: str, default: bool = False) -> bool:
        if not self.interactive:
            return default
        answer = self.ask(f"{label} (y/n)", "y" if default else "n") or ""
        return answer.lower().startswith("y")


def editor_command() -> list[str]:
    return shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")


def edit_text(text: str, suffix: str = ".yaml") -> str:
    """Open ``$VISUAL``/``$EDITOR`` on ``text``; return what was saved."""
    fd, name = tempfile.mkstemp(prefix="paperkb-entry-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        result = subprocess.run([*editor_command(), str(path)], check=False)
        if result.returncode != 0:
            raise OSError(f"editor exited with status {result.returncode}")
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)
