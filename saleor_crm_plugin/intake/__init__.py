"""The intake: how store events reach the ledger and what follows them.

Hooks write one outbox row per changed object (`outbox.record_changes`); the drain
(`drain.drain`) claims the waiting rows in batches and runs the pipeline (`pipeline.apply`)
on them; the sweep (`sweep.sweep`) queues what the store changed and no hook reported.
This package sits above the domains: it calls customers, segments, loyalty and
subscriptions, none of which calls it.
"""
