"""Bad records are never lost silently: each one is counted and written with file, line and reason."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson

from curate.errors import InputError
from curate.io.atomic import write_bytes

EXCERPT = 200


class Quarantine:
    """Collects bad records of one input file; `--strict` turns the first one into an error."""

    def __init__(self, file: str, strict: bool = False):
        self.file = file
        self.strict = strict
        self.records: list[bytes] = []
        self.reasons: Counter[str] = Counter()

    def add(self, line: int, reason: str, excerpt: bytes | str = b"", detail: str = "", documents: int = 1) -> None:
        """Record one bad record; `documents` > 1 when it stands for several (e.g. every row of an unreadable Parquet file)."""
        if self.strict:
            msg = reason + (f": {detail}" if detail else "")
            raise InputError(msg, where=f"{self.file}:{line}", fix="fix or remove that record, or run without --strict to quarantine it")
        if isinstance(excerpt, bytes):
            excerpt = excerpt[:EXCERPT].decode("utf-8", errors="backslashreplace")
        else:
            excerpt = excerpt[:EXCERPT]
        self.reasons[reason] += documents
        rec = {"file": self.file, "line": line, "reason": reason, "detail": detail[:300], "excerpt": excerpt}
        if documents != 1:
            rec["documents"] = documents
        self.records.append(orjson.dumps(rec))

    @property
    def count(self) -> int:
        return sum(self.reasons.values())

    def write(self, path: Path) -> None:
        """Write the quarantine file (only when there is something to write)."""
        if self.records:
            write_bytes(path, b"\n".join(self.records) + b"\n")
