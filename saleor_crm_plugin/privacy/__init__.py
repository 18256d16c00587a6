"""Privacy: the data-subject export, erasure of what rows copy beyond the ledger, retention."""
