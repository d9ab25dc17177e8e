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


def test_embedded_mode_defaults_to_a_sqlite_file_per_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", "/tmp/lf")
    assert Settings(_env_file=None).database_url_for("assignment") == (
        "sqlite+aiosqlite:////tmp/lf/assignment.db"
    )
