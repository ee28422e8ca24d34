"""Configuration, read once from the environment when the app is created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    # Thread page bodies kept per web process for signed-in members, drawn once per
    # class of viewer and filled in per member (0: draw every time).
    thread_cache_size: int = 512
    # Mentoring: a request waits this many days for an answer, a question this many
    # hours before it is offered to mentors; the sweep that acts on both runs every
    # SWEEP_INTERVAL_SECONDS in each web process ("embedded"), only in `forum worker`
    # ("worker", production), or not at all ("off").
    mentor_request_days: int = 7
    unanswered_after_hours: int = 48
    sweep_interval_seconds: int = 300
    background_jobs: str = "embedded"

    # --- Identity: email, single sign-on, registration, abuse resistance ---
    # smtp://user:password@host:587 (STARTTLS when offered) or smtps://...:465; empty:
    # messages are written to MAIL_DIR and printed (development only).
    smtp_url: str = ""
    mail_from: str = "Mutuals Knowledge Network <no-reply@localhost>"
    mail_dir: str = "data/mail"
    # OpenID Connect / OAuth 2 providers: a JSON list, see .env.example and the README.
    oidc_providers: list[dict[str, Any]] = Field(default_factory=list)
    # Clock skew tolerated when checking an ID token's expiry and issue time.
    oidc_leeway_seconds: int = 120
    verify_link_hours: int = 48
    reset_link_minutes: int = 60
    password_resets_per_address_per_hour: int = 10
    password_resets_per_account_per_hour: int = 3
    signups_per_email_per_hour: int = 3
    invitation_uses_per_address_per_hour: int = 20
    invitation_uses_per_invitation_per_hour: int = 50
    verification_emails_per_account_per_hour: int = 3
    # New members (unverified email, younger than NEW_MEMBER_DAYS, or fewer than
    # NEW_MEMBER_MIN_POSTS posts) may post and link only this much per day.
    new_member_days: int = 3
    new_member_min_posts: int = 3
    new_member_posts_per_day: int = 10
    new_member_links_per_day: int = 5

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
        if self.is_production and not self.smtp_url:
            raise ValueError(
                "SMTP_URL must be set in production: sign-up, verification and password "
                "reset send email"
            )
        return self
