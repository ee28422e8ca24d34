"""Configuration, read once from the environment when the app is created."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_SECRET = "development-only-secret-key-change-me"


class Settings(BaseSettings):
    """Every setting comes from an environment variable of the same name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: str = Field("development", description="development, test or production")
    database_url: str = "sqlite://data/forum.sqlite3"
    secret_key: str = DEVELOPMENT_SECRET
    base_url: str = "http://127.0.0.1:8000"
    site_name: str = "Mutuals Knowledge Network"
    # Sign-in throttling: attempts allowed per window, per account and per address.
    login_attempts_per_account: int = 5
    login_attempts_per_address: int = 20
    login_window_seconds: int = 300
    # Posting throttling: new posts per member per minute.
    posts_per_minute: int = 10
    signups_per_address_per_hour: int = 10
    page_size: int = 20
    posts_per_page: int = 30
    # Search: Meilisearch when MEILI_URL is set, otherwise the database's own engine.
    meili_url: str = ""
    meili_api_key: str = ""
    meili_index: str = "mutuals"
    # "embedded": each web process drains the search outbox itself (the default);
    # "worker": only `forum worker` does (production, see the Procfile); "off": nobody
    # (tests drain explicitly).
    search_indexing: str = "embedded"
    # Answers remembered per web process until the index changes (0: off).
    search_cache_size: int = 512
    # Pages for anonymous visitors kept per web process until content changes (0: off).
    page_cache_size: int = 2048
    # Mentoring: a request waits this many days for an answer, a question this many
    # hours before it is offered to mentors; the sweep that acts on both runs every
    # SWEEP_INTERVAL_SECONDS in each web process ("embedded"), only in `forum worker`
    # ("worker", production), or not at all ("off").
    mentor_request_days: int = 7
    unanswered_after_hours: int = 48
    sweep_interval_seconds: int = 300
    background_jobs: str = "embedded"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.is_production or self.base_url.startswith("https://")

    @model_validator(mode="after")
    def _production_needs_a_real_secret(self) -> "Settings":
        if self.is_production and (
            self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production"
            )
        return self
