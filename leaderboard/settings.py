"""Settings: one dataclass whose fields become ``--flags`` (judges.config) and may come from YAML.

The database URL is validated here so that SQLite and PostgreSQL share one code path:
``sqlite:///path.sqlite`` (the default; WAL journal) or ``postgresql+psycopg://user@host/db``.
"""

from __future__ import annotations

from dataclasses import dataclass

from judges.config import option

DEFAULT_DB = "sqlite:///leaderboard.sqlite"
SUPPORTED_SCHEMES = ("sqlite", "postgresql")


def normalise_db_url(url: str) -> str:
    """A SQLAlchemy URL with a driver we ship; a plain path becomes a SQLite file URL."""
    url = url.strip()
    if not url:
        raise ValueError("database URL is empty: use sqlite:///leaderboard.sqlite or "
                         "postgresql+psycopg://user:password@host:5432/dbname")
    if "://" not in url:  # a bare file path
        return f"sqlite:///{url}"
    scheme = url.split("://", 1)[0]
    dialect = scheme.split("+", 1)[0]
    if dialect == "postgres":  # the Heroku-style alias
        dialect, url = "postgresql", "postgresql" + url[len("postgres"):]
        scheme = url.split("://", 1)[0]
    if dialect not in SUPPORTED_SCHEMES:
        raise ValueError(f"database URL scheme {scheme!r} is not supported: use sqlite:///FILE "
                         "or postgresql+psycopg://user:password@host:5432/dbname")
    if dialect == "postgresql" and "+" not in scheme:
        url = "postgresql+psycopg" + url[len(scheme):]  # psycopg 3, the driver we install
    return url


@dataclass(frozen=True)
class Settings:
    db: str = option(DEFAULT_DB,
        "database URL: sqlite:///FILE (default, WAL) or postgresql+psycopg://USER@HOST/DB")
    public_read: bool = option(True,
        "pages and exports readable without a token (no: a 'read' token is needed)")
    max_payload_mb: float = option(64.0,
        "largest push body accepted, in MB (results + samples + card)")
    push_per_minute: int = option(60,
        "pushes per minute per token (429 with Retry-After beyond it)")
    requests_per_minute: int = option(600, "API requests per minute per client address")
    bootstrap_draws: int = option(1000, "bootstrap draws for the gap-closed confidence interval")
    seed: int = option(1234, "seed of the bootstrap")

    def __post_init__(self) -> None:
        object.__setattr__(self, "db", normalise_db_url(self.db))
        for name in ("push_per_minute", "requests_per_minute", "bootstrap_draws"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.max_payload_mb <= 1e6:  # NaN too: it made every push a 500
            raise ValueError(f"max_payload_mb must be a number in (0, 1e6], got "
                             f"{self.max_payload_mb}")

    @property
    def max_payload_bytes(self) -> int:
        return int(self.max_payload_mb * 1024 * 1024)
