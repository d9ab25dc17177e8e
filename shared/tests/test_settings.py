import pytest
from leadflow.settings import Settings


def test_production_refuses_placeholder_secrets_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADFLOW_ENV", "production")
    with pytest.raises(ValueError, match="JWT_SECRET must be set") as error:
        Settings(_env_file=None)
    assert "WEBHOOK_SECRET" in str(error.value) and "DATABASE_URL" in str(error.value)


def test_production_starts_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "LEADFLOW_ENV": "production",
        "JWT_SECRET": "x" * 48,
        "WEBHOOK_SECRET": "y" * 32,
        "DATABASE_URL": "postgresql://db/leadflow",
        "WHATSAPP_TRANSPORT": "neonize",
        "ADMIN_PASSWORD": "a-strong-password",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
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
