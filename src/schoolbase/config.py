"""Settings read from the environment (prefix ``SCHOOLBASE_``) or a ``.env`` file."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_UPLOAD_CONTENT_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
    "text/plain",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCHOOLBASE_", env_file=".env", extra="ignore")

    # Owner connection: runs migrations, the CLI's admin work and test setup.
    # Empty means: start the embedded PostgreSQL in ``data_dir``.
    database_url: str | None = None
    # The server's own connection. Empty means: the owner URL with the user
    # swapped for ``authenticator`` (and ``authenticator_password`` if given).
    app_database_url: str | None = None
    authenticator_password: SecretStr | None = None
    # Sign-in, the AI gateway and jobs connect as a second login role that may become
    # ``service_role``; requests' ``authenticator`` may not. Empty means: the owner URL with
    # the user swapped for ``service_authenticator`` (and its password if given).
    service_database_url: str | None = None
    service_authenticator_password: SecretStr | None = None
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("schoolbase")))

    # Tokens. The default secret is for development only; ``serve`` warns when it is used.
    jwt_secret: SecretStr = SecretStr("dev-only-insecure-secret-change-me-0123456789")
    jwt_audience: str = "authenticated"
    access_token_minutes: int = 15
    refresh_token_days: int = 30

    # Sign-in throttling. Within the window: failures for one account from one address
    # (429 for that pair only), failures from one address (429 for that address). Failures
    # for one account across all addresses never lock it: past the threshold each attempt
    # waits, twice as long per further failure, up to the cap.
    login_window_seconds: int = Field(default=900, ge=1)
    login_max_failures_per_account_address: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=30, ge=1)
    login_account_slowdown_after: int = Field(default=10, ge=1)
    login_account_max_delay_seconds: float = Field(default=8.0, ge=0)

    # Accounts and mail. Links in messages point at ``public_url``. Without ``smtp_url``
    # (``smtp://user:pass@host:port``, ``smtps://`` for implicit TLS, ``?starttls=true``)
    # messages are logged and kept in the outbox for ``schoolbase mail outbox``.
    public_url: str = "http://127.0.0.1:8000"
    smtp_url: SecretStr | None = None
    mail_from: str = "Schoolbase <no-reply@schoolbase.invalid>"
    mail_max_attempts: int = Field(default=8, ge=1, le=50)
    invitation_days: int = Field(default=14, ge=1, le=90)
    password_reset_minutes: int = Field(default=60, ge=5, le=1440)
    # /metrics answers only with ``Authorization: Bearer <metrics_token>``; unset, it is not served.
    metrics_token: SecretStr | None = None

    # AI provider: "anthropic" (needs an API key), "offline" (deterministic demo
    # answers), or "auto": anthropic when a key is set, else offline.
    ai_provider: Literal["auto", "anthropic", "offline"] = "auto"
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    ai_timeout_seconds: float = 60.0
    ai_max_retries: int = 1
    # How long past the provider timeout an unsettled budget reservation lives.
    ai_reservation_grace_seconds: int = 120
    # AI-assisted grading: the model alias asked when the request names none, and how
    # many submissions of one bulk run are graded at once.
    ai_grading_model: str = "claude-haiku"
    ai_grading_concurrency: int = Field(default=4, ge=1, le=32)

    # Background jobs (Procrastinate): run a worker inside ``serve``, how many jobs it
    # runs at once, and the size of its connection pool.
    jobs_worker: bool = True
    jobs_concurrency: int = Field(default=4, ge=1, le=64)
    jobs_pool_size: int = Field(default=4, ge=2, le=64)

    # Uploaded files of the resource portal. Empty means ``data_dir / "files"``.
    storage_dir: Path | None = None
    upload_max_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    upload_content_types: list[str] = Field(default_factory=lambda: list(DEFAULT_UPLOAD_CONTENT_TYPES))
    # A OneRoster upload (a zip of CSV files), kept under ``files_dir / "roster"`` until its
    # import has finished. A district of 50,000 people zips to a few tens of megabytes.
    roster_upload_max_bytes: int = Field(default=256 * 1024 * 1024, gt=0)

    pool_size: int = 10
    pool_max_overflow: int = 10
    log_level: str = "INFO"

    @property
    def files_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "files"


DEV_JWT_SECRET = Settings.model_fields["jwt_secret"].default.get_secret_value()


@lru_cache
def get_settings() -> Settings:
    return Settings()
