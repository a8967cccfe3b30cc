"""Configuration: one place, clear one-line errors naming the setting, secrets never in messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook import secrets
from runbook.config import ConfigError, parse_duration, parse_video_ids, read_env_file, side_from_env


def test_side_defaults_and_parsing() -> None:
    side = side_from_env(
        {"AWS_DEFAULT_REGION": "ap-northeast-2", "REDIS_HOST": "redis", "API_BASE_URL": "http://api:8000/"}, "api"
    )
    assert side.queue_name == "academy-video-jobs"
    assert side.region == "ap-northeast-2"
    assert (side.redis.host, side.redis.port, side.redis.db) == ("redis", 6379, 0)
    assert side.api_base_url == "http://api:8000"
    assert side.r2.bucket == "academy-video"


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"REDIS_PORT": "abc"}, "REDIS_PORT"),
        ({"REDIS_PORT": "70000"}, "REDIS_PORT"),
        ({"REDIS_DB": "-1"}, "REDIS_DB"),
        ({"API_BASE_URL": "api:8000"}, "API_BASE_URL"),
        ({"AWS_ENDPOINT_URL": "localhost"}, "AWS_ENDPOINT_URL"),
        ({"R2_ENDPOINT": "https://x:notaport"}, "R2_ENDPOINT"),
        ({"AWS_REGION": "Seoul"}, "AWS_REGION"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://u:p@h:port/db"}, "DATABASE_URL"),
        ({"DB_HOST": "db", "DB_PORT": "five"}, "DB_PORT"),
    ],
)
def test_invalid_values_name_the_setting(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as info:
        side_from_env(env, "api")
    assert info.value.setting == setting
    assert "\n" not in str(info.value)


def test_database_identity_has_no_password() -> None:
    side = side_from_env({"DATABASE_URL": "postgresql://app:s3cr3t-pass@db:5432/academy"}, "api")
    assert side.database.identity == "postgresql:db:5432/academy"
    assert "s3cr3t-pass" not in repr(side)
    assert secrets.scrub("dsn postgresql://app:s3cr3t-pass@db") == "dsn postgresql://app:***@db"


def test_env_file(tmp_path: Path) -> None:
    f = tmp_path / "worker.env"
    f.write_text("# worker\nexport API_BASE_URL=http://api/\nR2_BUCKET='academy-video'\n\nREDIS_DB=1\r\n")
    assert read_env_file(f) == {"API_BASE_URL": "http://api/", "R2_BUCKET": "academy-video", "REDIS_DB": "1"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "file not found"), (b"A=1\x00\x01", "binary"), (b"\xff\xfe=1", "UTF-8"), (b"just words", "KEY=VALUE")],
)
def test_bad_env_files(tmp_path: Path, content: bytes | None, reason: str) -> None:
    f = tmp_path / "worker.env"
    if content is not None:
        f.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        read_env_file(f)
    assert "--worker-env-file" in str(info.value) and reason in str(info.value)


@pytest.mark.parametrize("bad", ["abc", "-1", "", "0", "1.5", "111,,222"])
def test_bad_video_ids(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_video_ids([bad])
    assert info.value.setting == "--video-id"


def test_video_ids_and_durations() -> None:
    assert parse_video_ids(["111", "222,333", "111"]) == (111, 222, 333)
    assert parse_duration("30m", "x") == 1800 and parse_duration("2h", "x") == 7200 and parse_duration("5", "x") == 5
    with pytest.raises(ConfigError):
        parse_duration("soon", "--stuck-after")


def test_masks_compare_without_revealing() -> None:
    a, b = "AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOQ"
    assert secrets.mask(a) != secrets.mask(b)
    assert a not in secrets.mask(a)
