"""leaderboard: a self-hosted results store, HTTP API and web page built around "gap closed".

Base models, imitation checkpoints and teachers sit side by side under identical protocols; for
every imitation checkpoint the page shows the share of the base-to-teacher gap it closes, task
by task, with a bootstrap CI, next to the raw delta and how much it merely looks like the
teacher. Importing this package does nothing expensive (no engine, no server, no file access).
"""

__version__ = "0.1.0"
