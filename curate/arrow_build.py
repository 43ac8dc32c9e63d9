"""Small Arrow values built from their bytes instead of converted from Python objects.

pyarrow's conversion of Python values (`pa.array([...])`, `pa.scalar(x)`, `pa.table({...: [...]})`)
imports pandas on its first call, whichever the values: ~0.4 s of start-up (more under load). The
values a run makes before any real data is read — select rules' literals — are built here, so
that a run with nothing to do (a no-op resume) does not pay it.
"""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa

_TYPES = {bool: pa.bool_(), int: pa.int64(), float: pa.float64(), str: pa.string()}


def strings(values: list[str]) -> pa.StringArray:
    """A string array of `values` (UTF-8; no nulls)."""
    data = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(data) + 1, dtype=np.int32)
    np.cumsum([len(d) for d in data], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(data), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(data))])


def scalar(value: bool | int | float | str) -> pa.Scalar:
    """The scalar `pa.scalar(value)` gives (bool, int64, float64 or string)."""
    kind = _TYPES[type(value)]
    if kind == pa.string():
        return strings([value])[0]
    if isinstance(value, bool):
        data = bytes([value])
    else:
        data = struct.pack("<q" if isinstance(value, int) else "<d", value)
    return pa.Array.from_buffers(kind, 1, [None, pa.py_buffer(data)])[0]
