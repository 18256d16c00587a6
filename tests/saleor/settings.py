"""Saleor's own test settings with the plugin installed (found through its entry point)."""

from saleor.tests.settings import *  # noqa: F403
