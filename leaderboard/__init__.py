"""leaderboard: arrives with a later issue (see README)."""
