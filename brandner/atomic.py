"""Writing files (and folders of files) so that a crash never leaves a half-written one: temp
file or folder, then rename."""

from __future__ import annotations

import errno
import os
import shutil
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


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """A new empty folder beside ``path`` (``NAME.<pid>.<random>.partial``, as for
    :func:`atomic_output`): renamed onto it when the block succeeds, removed if it fails. A
    folder already at ``path`` is replaced only then (moved aside, the new one renamed in, the
    old one removed), so that ``path`` holds the old folder or the whole new one; a file there
    is an error before anything is written.

    >>> with atomic_folder("tagged.parquet") as folder:  # doctest: +SKIP
    ...     dataset.write_parquet(str(folder))
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f"{target.name}.{os.getpid()}."
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=prefix, suffix=".partial"))
    try:
        yield temporary
        os.chmod(temporary, 0o777 & ~_umask())  # mkdtemp makes it 0700; give it a new folder's usual mode
        if target.is_dir():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=prefix, suffix=".old"))
            os.replace(target, old)  # onto the empty folder just made
            try:
                os.replace(temporary, target)
            except BaseException:
                os.replace(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
