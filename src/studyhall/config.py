"""Settings: one class, read from the environment (prefix ``STUDYHALL_``) and ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from studyhall.kit.headers import DEFAULT_CSP, DEFAULT_DOCS_CSP

# The notifications hub holds one LISTEN connection while a client streams.
LISTEN_CONNECTIONS = 1
DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STUDYHALL_",
        env_file=".env",
        extra="ignore",
        validate_default=True,
    )

    environment: Literal["development", "test", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    home: Path = Path(".studyhall")
    base_url: str = "http://127.0.0.1:8000"

    # The owner URL runs migrations; the app URL is a role that is neither owner nor superuser.
    # Unset on an external server, the app falls back to the owner URL (and says so at startup).
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "STUDYHALL_DATABASE_URL")
    )
    app_database_url: str | None = None
    # Behind PgBouncer in transaction mode (``app_database_url`` points at it): no prepared
    # statements, and the per-connection settings are applied per transaction instead. The
    # connections that LISTEN (job queue, notifications stream) need a session of their own and
    # use ``app_database_direct_url``, which reaches PostgreSQL without the pooler.
    database_pgbouncer: bool = False
    app_database_direct_url: str | None = None
    app_db_role: str = "studyhall_app"
    db_name: str = "studyhall"

    # The main pool; every pool of a process together: ``Settings.connections_per_process``.
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=5, ge=0, le=100)
    db_connect_timeout_s: int = Field(default=30, ge=1)
    db_statement_timeout_s: int = Field(default=60, ge=1)
    db_pool_recycle_s: int = Field(default=1800, ge=60)
    # A transaction left open this long without a statement is ended by the server.
    db_idle_in_transaction_timeout_s: int = Field(default=60, ge=1)
    # The other pools of a process: AI quota reservations, and the job queue (its LISTEN incl.).
    db_quota_pool_size: int = Field(default=2, ge=1, le=20)
    db_job_pool_size: int = Field(default=3, ge=2, le=64)

    in_process_worker: bool = True
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    worker_heartbeat_max_age_s: int = Field(default=60, ge=5)

    # A course purchase may be refunded this many days after payment.
    course_refund_window_days: int = Field(default=14, ge=0, le=365)

    # The largest request body any route reads (uploads have their own, larger limit). It must
    # hold the largest text field even when a client escapes every character as \uXXXX.
    max_request_bytes: int = Field(default=2 * 1024 * 1024, ge=64 * 1024, le=1024 * 1024 * 1024)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    # ``GET /metrics`` (Prometheus text format); with a token, scrapers send it as a bearer token.
    metrics_enabled: bool = False
    metrics_token: SecretStr | None = None
    # OpenTelemetry tracing (the ``otel`` extra): a server span per request, continuing an
    # incoming ``traceparent``; exported over OTLP as the ``OTEL_EXPORTER_OTLP_*`` variables say.
    otel_enabled: bool = False
    otel_service_name: str = "studyhall"

    # Security headers. The default CSP allows scripts, styles, images and fonts from this origin
    # only; ``csp_docs`` applies to the interactive API docs page alone.
    csp: str = DEFAULT_CSP
    csp_docs: str = DEFAULT_DOCS_CSP
    # Origins allowed to call the API from a browser, e.g. ["https://app.example.com"]. Empty: no
    # CORS headers at all (same-origin only).
    cors_origins: list[str] = []

    mail_from: str = "Studyhall <no-reply@studyhall.local>"
    mail_backend: Literal["outbox", "smtp"] = "outbox"
    mail_outbox_dir: Path | None = None
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_timeout_s: float = Field(default=30.0, gt=0)

    # Accounts. External identity: one OIDC provider (Clerk, Supabase, Google, ...).
    oidc_issuer: str | None = None
    oidc_jwks_url: str | None = None
    oidc_audience: str | None = None
    oidc_provider: Literal["oidc", "google", "clerk", "supabase"] = "oidc"
    oidc_algorithms: list[Literal["RS256", "ES256"]] = ["RS256", "ES256"]
    oidc_jwks_cache_s: int = Field(default=300, ge=0)
    # An unknown kid refetches the key set at most this often (no amplification to the IdP).
    oidc_jwks_refresh_cooldown_s: float = Field(default=30.0, ge=0)
    # Guardian consent: users younger than this (in whole years) need a guardian's consent.
    guardian_consent_age: int = Field(default=13, ge=0, le=21)
    guardian_consent_age_by_country: dict[str, int] = {}
    # AES-GCM keys for tokens at rest: "kid:base64key,kid2:base64key"; the first one encrypts.
    encryption_keys: SecretStr | None = None
    # Brute-force limits, kept in PostgreSQL (auth_rate_limits).
    signin_limit_per_account: int = Field(default=5, ge=1)
    signin_limit_per_ip: int = Field(default=50, ge=1)
    signin_window_s: int = Field(default=900, ge=1)
    reset_limit_per_account: int = Field(default=3, ge=1)
    reset_limit_per_ip: int = Field(default=20, ge=1)
    reset_window_s: int = Field(default=3600, ge=1)
    # Study assistant. Files live under ``home/files`` unless S3-compatible storage is set.
    study_max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path | None = None
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # Any OpenAI-compatible server, e.g. http://localhost:11434/v1; unset = offline engine only.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_max_output_tokens: int = Field(default=1024, ge=16)
    # Unset: ``openai`` when embedding_base_url is set, else ``none`` (lexical retrieval only).
    # ``local``: embedding_model is a model directory or an installed model package.
    embedding_provider: Literal["openai", "local", "none"] | None = None
    embedding_base_url: str | None = None
    embedding_api_key: SecretStr | None = None
    embedding_model: str = "text-embedding-3-small"
    # Default plan until billing plans land: tokens per user per local day / month.
    ai_daily_token_limit: int = Field(default=200_000, ge=0)
    ai_monthly_token_limit: int = Field(default=3_000_000, ge=0)

    # GDPR: a deleted account's personal data is erased this many days later.
    erase_deleted_accounts_after_days: int = Field(default=30, ge=0)
    # Privacy (docs/privacy.md): how long an export's download link lives; usage logs older than
    # this are archived to storage as JSONL and deleted; soft-deleted rows are purged after this.
    data_export_link_hours: int = Field(default=72, ge=1)
    usage_log_retention_days: int = Field(default=365, ge=1)
    soft_deleted_retention_days: int = Field(default=30, ge=0)
    # Audit log months older than this are exported to storage as JSONL, then their partition is
    # dropped; the database itself refuses to drop any of the last twelve months.
    audit_retention_months: int = Field(default=24, ge=12)
    # Daily automated backups (a pg_dump; managed databases keep their own PITR too).
    backup_daily: bool = True
    backup_dir: Path | None = None
    backup_keep: int = Field(default=7, ge=1)
    # Off-site copies: with a bucket set, every backup is also uploaded there (the endpoint and
    # keys default to the file storage's ``s3_*``), and copies older than the retention go.
    backup_s3_bucket: str | None = None
    backup_s3_prefix: str = "backups/"
    backup_s3_endpoint_url: str | None = None
    backup_s3_region: str | None = None
    backup_s3_access_key_id: str | None = None
    backup_s3_secret_access_key: SecretStr | None = None
    backup_s3_retention_days: int = Field(default=30, ge=1)

    @field_validator("database_url", "app_database_url", "app_database_direct_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(
            ("postgresql://", "postgres://", "postgresql+")
        ):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _explicit_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not origin.startswith(("https://", "http://")) or origin.rstrip("/") != origin:
                raise ValueError(
                    f"{origin!r}: each CORS origin is a scheme and host, e.g. https://app.example.com"
                )
        return origins

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY
            or len(self.secret_key.get_secret_value()) < 32
        ):
            raise ValueError(
                "STUDYHALL_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production"
            )
        return self

    @model_validator(mode="after")
    def _openai_embeddings_need_a_server(self) -> Settings:
        if self.embedding_provider == "openai" and not self.embedding_base_url:
            raise ValueError(
                "STUDYHALL_EMBEDDING_PROVIDER=openai needs STUDYHALL_EMBEDDING_BASE_URL"
            )
        return self

    @model_validator(mode="after")
    def _pgbouncer_needs_a_direct_url(self) -> Settings:
        # LISTEN through a transaction-mode pooler subscribes a server connection that the next
        # client gets: the queue and the live inbox would silently stop hearing anything.
        if self.database_pgbouncer and not self.app_database_direct_url:
            raise ValueError(
                "STUDYHALL_DATABASE_PGBOUNCER=true needs STUDYHALL_APP_DATABASE_DIRECT_URL "
                "(the app role's URL without the pooler, for the LISTEN connections)"
            )
        return self

    @model_validator(mode="after")
    def _backup_prefix_is_a_folder(self) -> Settings:
        if self.backup_s3_prefix and not self.backup_s3_prefix.endswith("/"):
            raise ValueError("STUDYHALL_BACKUP_S3_PREFIX must end with '/' (or be empty)")
        return self

    @property
    def connections_per_process(self) -> int:
        """The most connections one process opens: main pool with its overflow, quota pool, job
        pool and the notifications LISTEN connection. N processes need N times this."""
        return (
            self.db_pool_size
            + self.db_max_overflow
            + self.db_quota_pool_size
            + self.db_job_pool_size
            + LISTEN_CONNECTIONS
        )

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def backups_dir(self) -> Path:
        return self.backup_dir or self.home / "backups"

    @property
    def outbox_dir(self) -> Path:
        return self.mail_outbox_dir or self.home / "outbox"

    @property
    def files_dir(self) -> Path:
        return self.storage_dir or self.home / "files"


@lru_cache
def get_settings() -> Settings:
    return Settings()
