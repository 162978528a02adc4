"""Errors raised by the mapping library."""


class MappingError(ValueError):
    """A problem with the user's input or configuration, with a message naming where it is."""


def format_items(items, limit: int = 5) -> str:
    """Join at most ``limit`` items for an error message, then "and N more"."""
    items = [str(i) for i in items]
    shown = "; ".join(items[:limit])
    if len(items) > limit:
        shown += f"; and {len(items) - limit} more"
    return shown


#: ``errno`` values that no retry can fix: the disk, the permissions or the path must change first.
_ENVIRONMENT_ERRNOS = {"ENOSPC", "EDQUOT", "EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR", "ENAMETOOLONG",
                       "EFBIG", "EMFILE", "ENFILE", "ELOOP"}


def user_error(exc: BaseException) -> MappingError | None:
    """The :class:`MappingError` an exception amounts to, or None when it may be transient or a bug.

    Input and configuration errors are already :class:`MappingError`. The environment's own refusals,
    which fail the same way on every retry, become one: a full disk or quota (``ENOSPC``, ``EDQUOT``),
    missing permissions, a read-only file system, a path through a file (``ENOTDIR``), and memory
    exhaustion. Network errors, timeouts and anything else return None (retried by the flow, shown with
    a traceback by ``--debug``).

    Examples
    --------
    >>> import errno
    >>> print(user_error(OSError(errno.ENOSPC, "No space left on device", "out/run.csv")))
    out/run.csv: No space left on device (ENOSPC); free disk space or set another run.output_root
    >>> user_error(TimeoutError("read timed out")) is None
    True
    """
    import errno as _errno

    if isinstance(exc, MappingError):
        return exc
    if isinstance(exc, MemoryError):
        return MappingError("out of memory: the input or the analysis needs more memory than this machine or its "
                            "limit allows; aggregate the input, read fewer years, or raise the memory limit")
    if isinstance(exc, OSError) and not isinstance(exc, (TimeoutError, ConnectionError)):
        name = _errno.errorcode.get(exc.errno or -1, "")
        if name not in _ENVIRONMENT_ERRNOS:
            return None
        where = exc.filename or ""
        where = f"{where}{' -> ' + str(exc.filename2) if exc.filename2 else ''}: " if where else ""
        hint = {"ENOSPC": "free disk space or set another run.output_root",
                "EDQUOT": "free disk space or set another run.output_root",
                "EACCES": "check the permissions of the file or folder",
                "EPERM": "check the permissions of the file or folder",
                "EROFS": "the file system is read-only; set run.output_root to a writable folder",
                "ENOTDIR": "a part of the path is a file, not a folder"}.get(name, "check the path and the system limits")
        return MappingError(f"{where}{exc.strerror or exc} ({name}); {hint}")
    if "No space left on device" in str(exc) or "Disk full" in str(exc):  # GDAL/pyogrio wrap ENOSPC in their own types
        return MappingError(f"{' '.join(str(exc).split())} (ENOSPC); free disk space or set another run.output_root")
    return None
