from pathlib import Path

import pytest

from hypewatch.errors import ConfigError
from hypewatch.settings import PROJECT_ROOT, Settings


def test_defaults_put_everything_under_home(tmp_path):
    settings = Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'hypewatch.db'}"
    assert settings.model_dir == tmp_path / "models"
    assert settings.seeds_dir == PROJECT_ROOT / "seeds"
    assert settings.sources_file == PROJECT_ROOT / "seeds" / "sources.toml"
    assert settings.is_sqlite and settings.redis_url is None and settings.dashboard_password is None
    assert settings.max_download_bytes == 10 * 1024 * 1024


def test_home_defaults_to_the_user_data_directory():
    settings = Settings.from_environ({})
    assert "hypewatch" in str(settings.home) and settings.home.is_absolute()


def test_environment_overrides(tmp_path):
    settings = Settings.from_environ({
        "HYPEWATCH_HOME": str(tmp_path),
        "HYPEWATCH_DATABASE_URL": "postgresql+psycopg://u@db/hw",
        "HYPEWATCH_SOURCES": "/etc/hypewatch/sources.toml",
        "HYPEWATCH_FETCH_TIMEOUT": "5.5",
        "HYPEWATCH_REDIS_URL": "redis://127.0.0.1:6379/0",
    })
    assert not settings.is_sqlite
    assert settings.sources_file == Path("/etc/hypewatch/sources.toml")
    assert settings.fetch_timeout == 5.5 and settings.redis_url.startswith("redis://")


@pytest.mark.parametrize("value", ["soon", "-3", "0"])
def test_bad_numbers_are_config_errors(tmp_path, value):
    with pytest.raises(ConfigError, match="HYPEWATCH_FETCH_TIMEOUT"):
        Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path), "HYPEWATCH_FETCH_TIMEOUT": value})


def test_alert_settings_and_channels_kept_out_of_the_repr(tmp_path):
    settings = Settings.from_environ({
        "HYPEWATCH_HOME": str(tmp_path),
        "HYPEWATCH_ALERT_CHANNELS": "mailtos://u:pw-secret@smtp.example.org?to=a@example.org  json://hooks.example.org/x",
        "HYPEWATCH_DASHBOARD_URL": "https://hype.example.org/",
        "HYPEWATCH_ALERT_ATTEMPTS": "3",
        "HYPEWATCH_ALERT_RETRY_SECONDS": "30",
        "HYPEWATCH_ALERT_DAILY_HOUR": "0",
    })
    assert len(settings.alert_channels) == 2 and settings.dashboard_url == "https://hype.example.org"
    assert (settings.alert_attempts, settings.alert_retry_seconds, settings.alert_daily_hour) == (3, 30.0, 0)
    assert "pw-secret" not in repr(settings)
    defaults = Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path)})
    assert defaults.alert_channels == () and defaults.alert_attempts == 5 and defaults.alert_daily_hour == 8
    with pytest.raises(ConfigError):
        Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path), "HYPEWATCH_ALERT_ATTEMPTS": "many"})
def test_the_trial_registry_settings(tmp_path):
    default = Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path)})
    assert default.registry_url == "https://clinicaltrials.gov" and default.registry_max_age == 7.0
    local = Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path), "HYPEWATCH_REGISTRY_URL": "http://127.0.0.1:8081/",
                                   "HYPEWATCH_REGISTRY_RATE": "5/second", "HYPEWATCH_REGISTRY_MAX_AGE": "1.5"})
    assert (local.registry_url, local.registry_rate, local.registry_max_age) == ("http://127.0.0.1:8081", "5/second", 1.5)
    assert Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path), "HYPEWATCH_REGISTRY_URL": "OFF"}).registry_url is None
    assert default.registry_refresh == "30 3 * * *"
    assert Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path), "HYPEWATCH_REGISTRY_REFRESH": "off"}).registry_refresh is None


def test_the_isrctn_registry_setting(tmp_path):
    assert Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path)}).isrctn_url == "https://www.isrctn.com"
    local = Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path), "HYPEWATCH_ISRCTN_URL": "http://127.0.0.1:8082/"})
    assert local.isrctn_url == "http://127.0.0.1:8082" and local.registry_url == "https://clinicaltrials.gov"
    off = Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path), "HYPEWATCH_ISRCTN_URL": "off"})
    assert off.isrctn_url is None and off.registry_url == "https://clinicaltrials.gov"


@pytest.mark.parametrize(("name", "value"), [("HYPEWATCH_REGISTRY_URL", "ftp://registry.example"),
                                             ("HYPEWATCH_REGISTRY_URL", "clinicaltrials.gov"),
                                             ("HYPEWATCH_ISRCTN_URL", "www.isrctn.com"),
                                             ("HYPEWATCH_REGISTRY_RATE", "lots"),
                                             ("HYPEWATCH_REGISTRY_MAX_AGE", "-1"),
                                             ("HYPEWATCH_REGISTRY_REFRESH", "daily")])
def test_bad_trial_registry_settings_are_config_errors(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_environ({"HYPEWATCH_HOME": str(tmp_path), name: value})
