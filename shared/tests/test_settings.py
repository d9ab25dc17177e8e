import pytest
from leadflow.service import SERVICE_NAMES
from leadflow.settings import Settings


def test_production_refuses_placeholder_secrets_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADFLOW_ENV", "production")
    with pytest.raises(ValueError, match="JWT_SECRET must be set") as error:
        Settings(_env_file=None).refuse_unsafe_secrets(["gateway", "leads"])
    assert "WEBHOOK_SECRET" in str(error.value) and "DATABASE_URL" in str(error.value)


def test_production_starts_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = production(monkeypatch)  # refuses nothing
    assert settings.database_url_for("leads") == "postgresql+asyncpg://db/leadflow"


def test_a_service_without_database_url_is_told_how_the_database_is_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ValueError, match=r"DATABASE_URL is not set.*DATA_DIR/pg"):
        Settings(_env_file=None).database_url_for("assignment")


def test_with_embedded_database_keeps_a_database_url_that_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/leadflow")
    settings = Settings(_env_file=None)
    assert settings.with_embedded_database() is settings


def production(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> Settings:
    for name, value in {
        "LEADFLOW_ENV": "production",
        "JWT_SECRET": "j" * 16 + "0123456789abcdef0123",
        "WEBHOOK_SECRET": "9f2c1e7a4b8d03f6a5e1c7b29d4f0a83",
        "DATABASE_URL": "postgresql://db/leadflow",
        "WHATSAPP_TRANSPORT": "neonize",
        "ADMIN_PASSWORD": "correct-horse-battery",
        **overrides,
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    settings.refuse_unsafe_secrets(SERVICE_NAMES)
    return settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEBHOOK_SECRET", "short-secret"),
        ("WEBHOOK_SECRET", "a" * 40),
        ("ADMIN_PASSWORD", "admin"),
        ("ADMIN_PASSWORD", "password123"),
        ("ADMIN_PASSWORD", "aaaaaaaaaaaaaaaa"),
        ("ADMIN_PASSWORD", "short-pw"),
    ],
)
def test_production_refuses_a_weak_webhook_secret_or_admin_password(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    with pytest.raises(ValueError, match=name):
        production(monkeypatch, **{name: value})


def test_built_in_development_secrets_are_refused_unless_listening_on_loopback_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("JWT_SECRET", "WEBHOOK_SECRET", "ADMIN_PASSWORD", "LEADFLOW_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOST", "127.0.0.1")
    Settings(_env_file=None).refuse_unsafe_secrets(SERVICE_NAMES)
    monkeypatch.setenv("HOST", "0.0.0.0")
    with pytest.raises(ValueError, match="JWT_SECRET, WEBHOOK_SECRET, ADMIN_PASSWORD"):
        Settings(_env_file=None).refuse_unsafe_secrets(SERVICE_NAMES)
    # Each service is held to the secrets it uses: the assigner uses none of these.
    Settings(_env_file=None).refuse_unsafe_secrets(["assignment"])
    with pytest.raises(ValueError, match="set JWT_SECRET \\("):
        Settings(_env_file=None).refuse_unsafe_secrets(["realtime"])
    monkeypatch.setenv("JWT_SECRET", "k" * 8 + "an-own-secret-of-enough-length")
    monkeypatch.setenv("WEBHOOK_SECRET", "an-own-webhook-secret")
    monkeypatch.setenv("ADMIN_PASSWORD", "an-own-admin-password")
    Settings(_env_file=None).refuse_unsafe_secrets(SERVICE_NAMES)


def test_an_unknown_default_country_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_COUNTRY", "XX")
    with pytest.raises(ValueError, match="DEFAULT_COUNTRY"):
        Settings(_env_file=None)
    monkeypatch.setenv("DEFAULT_COUNTRY", "pt")
    assert Settings(_env_file=None).default_country == "PT"
