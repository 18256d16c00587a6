"""Reading a query into a DataFrame through COPY (PostgreSQL)."""

import numpy as np
import pandas as pd
import pytest

from saleor_crm_plugin.analytics.frames import copy_frame

pytestmark = pytest.mark.django_db


def test_rows_arrive_with_their_types_nulls_and_awkward_text():
    # given: text with commas, quotes, a line break and the word NA; a NULL; 20,000 rows
    sql = """
        SELECT n, CASE n %% 4 WHEN 0 THEN 'Cup, "large"' WHEN 1 THEN E'two\\nlines'
                         WHEN 2 THEN 'NA' END, n * 10
        FROM generate_series(1, %s) AS n
    """

    # when
    frame = copy_frame(
        sql, [20_000], ["n", "name", "tens"], {"n": np.int64, "name": "category", "tens": np.int64}
    )

    # then
    assert len(frame) == 20_000
    assert frame["n"].tolist()[:4] == [1, 2, 3, 4]
    assert frame["tens"].sum() == 10 * 20_000 * 20_001 // 2
    first = frame["name"].tolist()[:4]
    assert [first[0], first[1], first[3]] == ["two\nlines", "NA", 'Cup, "large"']
    assert pd.isna(first[2])  # the NULL
    assert set(frame["name"].cat.categories) == {"two\nlines", "NA", 'Cup, "large"'}
