"""Writing files so that a crash never leaves a half-written one: temp file, then rename."""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``: renamed onto it when the block succeeds, removed if it fails.

    The temporary file is ``NAME.<pid>.<random>.partial`` (``out.txt.4242.k2x9q1ab.partial``):
    not hidden, so that what a process killed outright (``kill -9``, a power cut) leaves behind
    is seen for what it is, and whose. Nothing removes such a file later: on a shared file
    system the pid may be another machine's process, still writing.

    >>> with atomic_output("out.txt") as temporary:  # doctest: +SKIP
    ...     temporary.write_text("done")
    """
    target = Path(path)
    if target.is_dir():  # else the rename fails and the error names the temporary file
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f"{target.name}.{os.getpid()}.", suffix=".partial")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it 0600; give it a new file's usual mode
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
