"""Errors a user sees. Each one says where (file, line or key) and what to do about it."""

from __future__ import annotations


class CurateError(Exception):
    """An error with a location and a fix, printed without a traceback by the CLI."""

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = []
        if self.where:
            parts.append(f"{self.where}: ")
        parts.append(self.message)
        if self.fix:
            parts.append(f"\n  fix: {self.fix}")
        return "".join(parts)


class ConfigError(CurateError):
    """The pipeline YAML (or a recipe) is invalid."""


class InputError(CurateError):
    """An input record or file is bad and --strict is on (or the file cannot be read at all)."""


class DiskFull(CurateError):
    """Writing an output failed for lack of space (or a file-size limit): never the input's fault."""


def disk_full_error(exc: BaseException, path: "str | None" = None) -> DiskFull | None:
    """A DiskFull naming `path` (the file or folder being written; else the exception's filename)
    when `exc` is an out-of-space error (ENOSPC, EDQUOT, or EFBIG from a file-size limit), else None.
    Also recognises such errors raised by native writers (pyarrow) and wrapped in other exceptions."""
    import errno as errno_mod
    import shutil

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        code = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
        if code in (errno_mod.ENOSPC, errno_mod.EDQUOT, errno_mod.EFBIG):
            break
        exc = exc.__cause__ or exc.__context__
    else:
        return None
    if exc is None:
        return None
    where = path or getattr(exc, "filename", None) or "the output folder"
    what = {errno_mod.ENOSPC: "disk full", errno_mod.EDQUOT: "disk quota exceeded", errno_mod.EFBIG: "file too large"}[exc.errno]
    free = ""
    probe = str(where)
    try:
        from pathlib import Path

        p = Path(probe)
        while not p.exists() and p != p.parent:
            p = p.parent
        free = f" ({shutil.disk_usage(p).free / 1e6:,.1f} MB free)"
    except OSError:
        pass
    if exc.errno == errno_mod.EFBIG:
        fix = ("the file system or a file-size limit (`ulimit -f`) refuses files this large: raise the limit or choose "
               "another --out on a file system that allows them; then rerun the same command to resume")
    else:
        fix = "free space on that disk or choose another --out (a folder on a disk with room); then rerun the same command to resume"
    return DiskFull(f"{what} at {where}{free}: {exc.strerror or exc}", fix=fix)
