"""Customer-relationship tools for Saleor: profiles, segments, ranks, points, subscriptions."""

__version__ = "0.1.0"
