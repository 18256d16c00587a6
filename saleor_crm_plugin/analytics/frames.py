"""Reading the ledger into DataFrames for the nightly analytics: one COPY, parsed by pandas.

A query's rows leave PostgreSQL as CSV (`COPY (...) TO STDOUT`) and go straight into
`pandas.read_csv` through a file-like stream, so no Python object is built per row and the
strings can arrive as categoricals. An unquoted empty field (SQL NULL) reads as missing; text
such as "NA" or "null" stays text (a product may be called that).
"""

import io
from itertools import islice

import pandas as pd
from django.db import connection

__all__ = ["copy_frame"]


class _CopyStream(io.RawIOBase):
    """A COPY ... TO STDOUT as a binary file pandas reads from."""

    def __init__(self, copy):
        self._chunks = iter(copy)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        """Fill `target` from as many of the COPY's chunks (a row each) as it holds."""
        wanted, filled = len(target), 0
        while filled < wanted:
            if not self._pending:
                self._pending = b"".join(islice(self._chunks, 4096))  # a row a chunk
                if not self._pending:
                    break
            size = min(wanted - filled, len(self._pending))
            target[filled : filled + size] = self._pending[:size]
            self._pending = self._pending[size:]
            filled += size
        return filled


def copy_frame(sql: str, params: list, names: list[str], dtypes: dict) -> pd.DataFrame:
    """The rows of `sql` (with `params`) as a DataFrame of these column names and dtypes.

    PostgreSQL only: the callers read the sandbox's SQLite through the ORM instead.
    """
    with connection.cursor() as cursor:
        query = cursor.cursor.mogrify(sql, params) if params else sql
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
            stream = io.BufferedReader(_CopyStream(copy), buffer_size=1 << 20)
            return pd.read_csv(
                stream,
                header=None,
                names=names,
                dtype=dtypes,
                keep_default_na=False,
                na_values=[""],
            )
