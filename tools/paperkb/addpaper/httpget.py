"""One bounded HTTP GET for the metadata lookups: a deadline for the whole request
and a cap on the size of the answer.

``urlopen(timeout=...)`` bounds each socket operation, not the request: a server
that sends a byte every two seconds holds it for ever, and nothing stops it from
sending gigabytes. Here the request runs in a daemon thread that the caller waits
for until the deadline (then gives up on it; the thread stops at its next read, or
with the process), and the body is read in chunks up to ``max_bytes``.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

USER_AGENT = "paperkb-add-paper/0.1"
MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # an arXiv feed or a Crossref record is a few kB
CHUNK = 64 * 1024


class FetchFailed(Exception):
    """The request failed, took too long or answered too much: one line."""


def _read_body(response: object, max_bytes: int, deadline: float, host: str) -> bytes:
    length = response.headers.get("Content-Length")  # type: ignore[attr-defined]
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise FetchFailed(f"{host} answered {int(length):,} bytes (more than {max_bytes:,})")
    chunks: list[bytes] = []
    total = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchFailed(f"{host} is too slow (no complete answer in time)")
        chunk = response.read1(CHUNK)  # type: ignore[attr-defined]
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            raise FetchFailed(f"{host} answered more than {max_bytes:,} bytes")
        chunks.append(chunk)


def bounded_get(url: str, timeout: float, max_bytes: int = MAX_RESPONSE_BYTES) -> bytes:
    """GET ``url`` within ``timeout`` seconds in all; at most ``max_bytes`` of body."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchFailed(f"refusing to fetch {url!r}: only http and https")
    host = parts.hostname or url
    deadline = time.monotonic() + timeout
    outcome: dict[str, object] = {}

    def work() -> None:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
                outcome["body"] = _read_body(response, max_bytes, deadline, host)
        except urllib.error.HTTPError as exc:
            outcome["error"] = f"HTTP {exc.code} from {host}"
        except FetchFailed as exc:
            outcome["error"] = str(exc)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            outcome["error"] = f"cannot reach {host}: {reason}"
        except Exception as exc:  # http.client raises its own types for a broken answer
            outcome["error"] = f"bad answer from {host}: {type(exc).__name__}: {exc}"

    thread = threading.Thread(target=work, name=f"fetch {host}", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if thread.is_alive() or ("body" not in outcome and "error" not in outcome):
        raise FetchFailed(f"{host} did not answer within {timeout:g} s")
    if "error" in outcome:
        raise FetchFailed(str(outcome["error"]))
    return outcome["body"]  # type: ignore[return-value]
