"""Chunks of one recompute scored by concurrent workers: each once, segment sizes once."""

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.segments.models import RecomputeChunk, SegmentSize
from saleor_crm_plugin.segments.services import score_recompute_chunk, start_recompute
from tests.factories import T0, order, scored

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locking is PostgreSQL's"),
]

TOKYO = ZoneInfo("Asia/Tokyo")
AS_OF = T0 + timedelta(days=200)


def test_workers_racing_over_the_chunks_of_one_run():
    # given: 40 customers in 8 chunks
    ingest_orders(
        [
            order(
                f"o{i}-{n}",
                email=f"c{i}@example.com",
                total=str(100 * (i + 1)),
                placed_at=T0 + timedelta(days=i),
            )
            for i in range(40)
            for n in range(1 + i % 4)
        ]
    )
    run = start_recompute(TOKYO, chunk_size=5, as_of=AS_OF)
    chunk_ids = list(run.chunk_set.values_list("pk", flat=True))
    reports, errors = [], []
    start = threading.Barrier(4)

    def worker(order_of_work):
        try:
            start.wait()
            for chunk_id in order_of_work:
                reports.append(score_recompute_chunk(chunk_id, TOKYO))
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    # when: four workers, each trying every chunk, in different orders
    orders = [chunk_ids, chunk_ids[::-1], chunk_ids[1::2] + chunk_ids[::2], chunk_ids[::2]]
    threads = [threading.Thread(target=worker, args=(o,)) for o in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then
    assert errors == []
    assert run.chunks == 8
    done = [r for r in reports if not r.repeated]
    assert len(done) == 8
    assert sum(r.written for r in done) == 40
    assert sum(r.finished_run for r in reports) == 1
    assert scored().count() == 40
    assert not RecomputeChunk.objects.filter(done_at__isnull=True).exists()
    assert sum(SegmentSize.objects.values_list("customers", flat=True)) == 40
