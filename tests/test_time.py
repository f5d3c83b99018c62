"""Time: aware UTC datetimes in Python, integer epoch milliseconds in SQL and on the wire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from flowtrail.model import from_epoch_ms, to_epoch_ms, utc_now

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "ms",
    [
        0,
        1,
        999,
        1000,
        1_714_564_800_123,
        -1,
        -999,
        -1000,
        -1001,
        -86_400_000,
        -2_208_988_800_000,  # 1900-01-01
        -62_135_596_800_000,  # 0001-01-01
        253_402_300_799_999,  # 9999-12-31 23:59:59.999
        2**31 * 1000 + 7,  # past 2038
    ],
)
def test_round_trip(ms: int) -> None:
    dt = from_epoch_ms(ms)
    assert dt.tzinfo is UTC
    assert dt == EPOCH + timedelta(milliseconds=ms)
    assert to_epoch_ms(dt) == ms


def test_round_trip_every_millisecond_of_a_second_around_the_epoch() -> None:
    for ms in range(-2000, 2000):
        assert to_epoch_ms(from_epoch_ms(ms)) == ms
        assert from_epoch_ms(ms).microsecond == (ms % 1000) * 1000


def test_known_values() -> None:
    assert to_epoch_ms(datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)) == 1_714_564_800_123
    assert from_epoch_ms(-1) == datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    assert to_epoch_ms(datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC)) == -14_182_940_000


def test_sub_millisecond_truncates_down() -> None:
    dt = datetime(2024, 1, 1, 0, 0, 0, 123999, tzinfo=UTC)
    assert to_epoch_ms(dt) == to_epoch_ms(dt.replace(microsecond=123000))
    # Before 1970 too: the millisecond is the one the instant falls in (floor), as after it.
    before = datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC)
    assert to_epoch_ms(before) == -1
    assert from_epoch_ms(to_epoch_ms(before)) <= before


@pytest.mark.parametrize("hours", [-12, -5, 0, 5, 14])
def test_other_timezones(hours: int) -> None:
    utc = datetime(2024, 3, 10, 8, 30, 15, 250000, tzinfo=UTC)
    local = utc.astimezone(timezone(timedelta(hours=hours)))
    assert to_epoch_ms(local) == to_epoch_ms(utc)
    assert from_epoch_ms(to_epoch_ms(local)) == utc


def test_naive_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_epoch_ms(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        to_epoch_ms(datetime.now())


def test_utc_now() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    now = utc_now()
    after = datetime.now(UTC)
    assert now.tzinfo is UTC
    assert now.utcoffset() == timedelta(0)
    assert now.microsecond % 1000 == 0
    assert before <= now <= after
    assert from_epoch_ms(to_epoch_ms(now)) == now
