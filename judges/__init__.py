"""judges: arrives with a later issue (see README)."""
