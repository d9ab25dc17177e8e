"""One Settings object per process, read from the environment (and `.env`).

Nothing else in the code base reads `os.environ`; services receive a `Settings`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.contracts.phones import DEFAULT_COUNTRY, is_country_code

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789"
DEV_WEBHOOK_SECRET = "dev-only-webhook-secret"
DEV_ADMIN_PASSWORD = "leadflow-admin"
PLACEHOLDERS = {
    "",
    "changeme",
    "change-me",
    "secret",
    "replace-me",
    DEV_JWT_SECRET,
    DEV_WEBHOOK_SECRET,
}


LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
WELL_KNOWN_PASSWORDS = {
    "password",
    "password123",
    "123456789012",
    "admin",
    "administrator",
    "qwertyuiop",
    "letmein",
    "leadflow",
}


def weak(secret: str, min_length: int) -> bool:
    """Too short, one character repeated, or a well-known password (with digits added)."""
    bare = secret.lower().rstrip("0123456789!")
    return len(secret) < min_length or len(set(secret)) < 4 or bare in WELL_KNOWN_PASSWORDS


# The secrets each process uses, and so the only ones it is given (Kubernetes mounts
# these; `refuse_unsafe_secrets` checks these). `migrate` is the schema migration job.
SERVICE_SECRETS: dict[str, tuple[str, ...]] = {
    "gateway": ("JWT_SECRET", "WEBHOOK_SECRET", "RABBITMQ_URL"),
    "realtime": ("JWT_SECRET", "RABBITMQ_URL"),
    "leads": ("DATABASE_URL", "RABBITMQ_URL", "ADMIN_PASSWORD"),
    "assignment": ("DATABASE_URL", "RABBITMQ_URL"),
    "ai": ("RABBITMQ_URL", "GROQ_API_KEY"),
    "wa-consultant": ("DATABASE_URL", "RABBITMQ_URL"),
    "wa-livia": ("DATABASE_URL", "RABBITMQ_URL"),
    "migrate": ("DATABASE_URL",),
}


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class WhatsAppTransport(StrEnum):
    NEONIZE = "neonize"
    SIMULATOR = "simulator"


class Settings(BaseSettings):
    """Every setting of CONTRACT.md "Running it", plus the operational ones."""

    # An empty variable means "not set": compose and ConfigMaps list every setting.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    environment: Environment = Field(Environment.DEVELOPMENT, validation_alias="LEADFLOW_ENV")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    rabbitmq_url: str = Field("amqp://guest:guest@127.0.0.1:5672/", validation_alias="RABBITMQ_URL")
    broker_namespace: str = Field(
        "", validation_alias="BROKER_NAMESPACE", description="prefix of every exchange and queue"
    )
    data_dir: Path = Field(
        Path("./data"),
        validation_alias="DATA_DIR",
        description="embedded PostgreSQL (pg/) when DATABASE_URL is unset",
    )
    port: int | None = Field(None, validation_alias="PORT")
    host: str = Field("127.0.0.1", validation_alias="HOST")
    gateway_port: int = Field(8000, validation_alias="GATEWAY_PORT")
    realtime_port: int = Field(8001, validation_alias="REALTIME_PORT")
    realtime_public_url: str | None = Field(
        None,
        validation_alias="REALTIME_PUBLIC_URL",
        description="where browsers reach realtime when it is not on the gateway's origin",
    )
    console_origins: str = Field(
        "",
        validation_alias="CONSOLE_ORIGINS",
        description="origins (comma-separated) whose pages may read realtime's SSE stream",
    )
    service_port_base: int = Field(
        8100,
        validation_alias="SERVICE_PORT_BASE",
        description="health ports of the internal services",
    )

    jwt_secret: str = Field(DEV_JWT_SECRET, validation_alias="JWT_SECRET", min_length=32)
    access_token_ttl: int = Field(15 * 60, validation_alias="ACCESS_TOKEN_TTL", gt=0)
    refresh_token_ttl: int = Field(7 * 24 * 3600, validation_alias="REFRESH_TOKEN_TTL", gt=0)
    admin_email: str | None = Field("admin@leadflow.local", validation_alias="ADMIN_EMAIL")
    admin_password: str | None = Field(DEV_ADMIN_PASSWORD, validation_alias="ADMIN_PASSWORD")
    webhook_secret: str = Field(DEV_WEBHOOK_SECRET, validation_alias="WEBHOOK_SECRET")
    webhook_require_timestamp: bool = Field(
        False,
        validation_alias="WEBHOOK_REQUIRE_TIMESTAMP",
        description="refuse webhook requests without a signed X-Timestamp",
    )
    default_country: str = Field(
        DEFAULT_COUNTRY,
        validation_alias="DEFAULT_COUNTRY",
        description="the country of phone numbers typed without a country code",
    )
    forwarded_allow_ips: str = Field(
        "",
        validation_alias="FORWARDED_ALLOW_IPS",
        description="proxies whose X-Forwarded-For/-Proto are trusted (comma-separated "
        "addresses or networks); empty: none, the client address is the peer's",
    )

    whatsapp_transport: WhatsAppTransport = Field(
        WhatsAppTransport.SIMULATOR, validation_alias="WHATSAPP_TRANSPORT"
    )
    whatsapp_session_dir: Path = Field(
        Path("./data/whatsapp"), validation_alias="WHATSAPP_SESSION_DIR"
    )

    rate_limit_per_minute: int = Field(1200, validation_alias="RATE_LIMIT_PER_MINUTE", gt=0)
    rate_limit_burst: int = Field(200, validation_alias="RATE_LIMIT_BURST", gt=0)
    login_rate_limit_per_minute: int = Field(
        30, validation_alias="LOGIN_RATE_LIMIT_PER_MINUTE", gt=0
    )
    rpc_timeout_s: float = Field(5.0, validation_alias="RPC_TIMEOUT_S", gt=0)
    consumer_prefetch: int = Field(32, validation_alias="CONSUMER_PREFETCH", gt=0)
    db_pool_size: int = Field(20, validation_alias="DB_POOL_SIZE", gt=0)
    max_deliveries: int = Field(5, validation_alias="MAX_DELIVERIES", ge=1)
    outage_retry_s: float = Field(
        60.0,
        validation_alias="OUTAGE_RETRY_S",
        gt=0,
        description="how long a message that met an unreachable database or broker is "
        "tried again before it counts as a failed delivery",
    )
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    migrate_on_start: bool = Field(True, validation_alias="MIGRATE_ON_START")

    @model_validator(mode="after")
    def _known_default_country(self) -> Self:
        if not is_country_code(self.default_country):
            raise ValueError(f"DEFAULT_COUNTRY={self.default_country!r} is not a country code")
        self.default_country = self.default_country.upper()
        return self

    def refuse_unsafe_secrets(self, services: Iterable[str]) -> None:
        """Raise `ValueError` naming every problem with the secrets these services use.

        The built-in development secrets are public (they are in this file): a process
        that other machines can reach must be given its own. In production every secret
        must be set, and strong. Each service is checked only for the secrets it uses,
        so each can be given only those (SERVICE_SECRETS).
        """
        used = {name for service in services for name in SERVICE_SECRETS.get(service, ())}
        problems = []
        if self.host not in LOOPBACK_HOSTS:
            built_in = [
                name
                for name, value, default in (
                    ("JWT_SECRET", self.jwt_secret, DEV_JWT_SECRET),
                    ("WEBHOOK_SECRET", self.webhook_secret, DEV_WEBHOOK_SECRET),
                    ("ADMIN_PASSWORD", self.admin_password, DEV_ADMIN_PASSWORD),
                )
                if name in used and value == default
            ]
            if built_in:
                problems.append(
                    f"HOST={self.host} is reachable from other machines: set "
                    + ", ".join(built_in)
                    + " (the built-in development values are public), or listen on 127.0.0.1"
                )
        if self.environment is Environment.PRODUCTION:
            problems += self._production_problems(used)
        if problems:
            raise ValueError("configuration refused: " + "; ".join(problems))

    def _production_problems(self, used: set[str]) -> list[str]:
        problems = []
        if "JWT_SECRET" in used and self.jwt_secret in PLACEHOLDERS:
            problems.append("JWT_SECRET must be set to a real secret (32+ characters)")
        if "WEBHOOK_SECRET" in used and (
            self.webhook_secret in PLACEHOLDERS or weak(self.webhook_secret, 32)
        ):
            problems.append("WEBHOOK_SECRET must be a real secret of 32+ characters")
        if "DATABASE_URL" in used and not self.database_url:
            problems.append("DATABASE_URL is required in production")
        if "ADMIN_PASSWORD" in used and (
            self.admin_password in PLACEHOLDERS | {DEV_ADMIN_PASSWORD}
            or weak(self.admin_password or "", 12)
        ):
            problems.append(
                "ADMIN_PASSWORD must be a real password: 12+ characters, not one repeated "
                "character or a well-known password"
            )
        if self.whatsapp_transport is WhatsAppTransport.SIMULATOR:
            problems.append("WHATSAPP_TRANSPORT=simulator is for development only")
        return problems

    @classmethod
    def of(cls, base: Settings) -> Self:
        """A service's own settings class: `base`'s values, plus its own knobs read from
        the environment (composition roots receive the process-wide `Settings`)."""
        if isinstance(base, cls):
            return base
        return cls(**base.model_dump())

    def engine_for(self, service: str) -> AsyncEngine:
        """The service's database engine, sized by DB_POOL_SIZE."""
        from leadflow.db import create_engine

        return create_engine(self.database_url_for(service), pool_size=self.db_pool_size)

    def database_url_for(self, service: str) -> str:
        """The service's database (every service its own tables in DATABASE_URL's)."""
        if not self.database_url:
            raise ValueError(
                f"{service}: DATABASE_URL is not set (the `leadflow` command sets it to its "
                "embedded PostgreSQL server under DATA_DIR/pg when it is unset)"
            )
        return normalise_database_url(self.database_url)

    def with_embedded_database(self) -> Settings:
        """These settings, with DATABASE_URL pointing at the embedded PostgreSQL server
        under DATA_DIR/pg (started, or reused if running) when it is unset."""
        if self.database_url:
            return self
        from leadflow.embedded_database import embedded_database_url

        return self.model_copy(update={"database_url": embedded_database_url(self.data_dir)})


def normalise_database_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and select the async driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url
