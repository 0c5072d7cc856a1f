"""imitation_train: arrives with a later issue (see README)."""
