"""The audit trail: one row for every change staff make by hand (points, pins, the rank table)."""
