"""The state of a customer on a past date (staff)."""
