"""In-process tests (no subprocess): capacity limits at full size, WAV streaming, config."""

from __future__ import annotations

import hashlib
import io
import wave

import pytest

from simulator import recordings, unconfirmed
from simulator.config import AppConfig, ConfigError, NumberConfig, parse_apps
from simulator.platform import Platform
from simulator.results import PlatformError
from simulator.store import Store
from simulator.validate import Fields


def _platform(mode: str, numbers: int, city: str = "0755") -> tuple[Platform, AppConfig]:
    platform = Platform(Store(None))
    app = AppConfig(
        app_key=f"k{mode}",
        app_secret="s",
        mode=mode,
        numbers=[{"number": f"+861700{i:07d}", "city": city} for i in range(numbers)],  # type: ignore[misc]
    )
    platform.put_app(app)
    return platform, app


def test_an_axb_x_holds_at_most_5000_pairs() -> None:
    platform, app = _platform("AXB", 1)
    for i in range(5000):
        platform.rules("AXB").bind(
            app, Fields({"callerNum": f"+86138{i:08d}", "calleeNum": f"+86139{i:08d}"})
        )
    with pytest.raises(PlatformError) as refused:
        platform.rules("AXB").bind(
            app, Fields({"callerNum": "+8613700000000", "calleeNum": "+8613600000000"})
        )
    assert refused.value.code == "1012008"
    with pytest.raises(PlatformError) as full:
        platform.rules("AXB").bind(
            app,
            Fields(
                {
                    "callerNum": "+8613700000000",
                    "calleeNum": "+8613600000000",
                    "relationNum": "+8617000000000",
                }
            ),
        )
    assert full.value.code == unconfirmed.AXB_X_FULL_CODE


def test_a_y_carries_at_most_1000_relations() -> None:
    # 1001 X numbers in Shenzhen, one number in Beijing that can only serve as Y
    platform, app = _platform("AXYB", 1001)
    platform.add_numbers(app.app_key, [NumberConfig("+8617100000000", "010")])
    for i in range(1, 1002):
        ax = platform.rules("AXYB").bind(
            app, Fields({"origNum": f"+86138{i:08d}", "areaCode": "0755"})
        )
        step = Fields(
            {"subscriptionId": ax["subscriptionId"], "origNum": f"+86139{i:08d}", "areaCode": "010"}
        )
        if i <= 1000:
            assert platform.rules("AXYB").bind(app, step)["relationNumber"] == "+8617100000000"
        else:
            with pytest.raises(PlatformError) as refused:
                platform.rules("AXYB").bind(app, step)
            assert refused.value.code == "1012008"  # no Y left in Beijing


def test_axyb_a_holds_at_most_five_x() -> None:
    platform, app = _platform("AXYB", 7)
    for _ in range(5):
        platform.rules("AXYB").bind(app, Fields({"origNum": "+8613800000001"}))
    with pytest.raises(PlatformError) as refused:
        platform.rules("AXYB").bind(app, Fields({"origNum": "+8613800000001"}))
    assert refused.value.code == "1011003"


def test_axe_capacity_follows_the_extension_length() -> None:
    platform, app = _platform("AXE", 1)
    app.extension_length = 1
    extensions = {
        platform.rules("AXE").bind(app, Fields({"bindNum": f"+86138{i:08d}"}))["extendNum"]
        for i in range(9)
    }
    assert extensions == {str(n) for n in range(1, 10)}
    with pytest.raises(PlatformError) as refused:
        platform.rules("AXE").bind(app, Fields({"bindNum": "+8613900000000"}))
    assert refused.value.code == "1012008"  # no X with room: none to choose
    with pytest.raises(PlatformError) as named:
        platform.rules("AXE").bind(
            app, Fields({"bindNum": "+8613900000000", "virtualNum": "+8617000000000"})
        )
    assert named.value.code == "1020167"  # the named X has no idle extension


def test_the_wav_stream_is_deterministic_and_any_range_matches_the_whole() -> None:
    whole = b"".join(recordings.stream("seed-1", 7))
    assert len(whole) == recordings.wav_size(7)
    assert whole == b"".join(recordings.stream("seed-1", 7))
    assert whole != b"".join(recordings.stream("seed-2", 7))
    for start, end in ((0, 10), (40, 50), (44, 16044), (15999, 48013), (100, len(whole))):
        assert b"".join(recordings.stream("seed-1", 7, start, end)) == whole[start:end]
    assert recordings.file_digest("seed-1", 7) == hashlib.sha256(whole).hexdigest()
    with wave.open(io.BytesIO(whole)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes()) == (
            8000,
            1,
            2,
            7 * 8000,
        )


def test_chunks_stay_small_for_big_files() -> None:
    sizes = [len(c) for _, c in zip(range(50), recordings.stream("s", 12500), strict=False)]
    assert max(sizes) <= 64 * 1024 + 16000


def test_config_derives_provinces_and_names_its_errors() -> None:
    [app] = parse_apps(
        {
            "apps": [
                {
                    "app_key": "k",
                    "app_secret": "s",
                    "mode": "AXB",
                    "numbers": [{"number": "+8617000000001", "city": "0757"}],
                }
            ]
        }
    )
    assert app.numbers[0].province == "guangdong"
    with pytest.raises(ConfigError, match="unknown keys"):
        parse_apps({"apps": [{"app_key": "k", "app_secret": "s", "mode": "AXB", "colour": "red"}]})
    with pytest.raises(ConfigError, match="not like 0755"):
        parse_apps(
            {
                "app_key": "k",
                "app_secret": "s",
                "mode": "AX",
                "numbers": [{"number": "+8617000000001", "city": "755"}],
            }
        )
    twice = {"numbers": [{"number": "+8617000000001", "city": "0755"}]}
    with pytest.raises(ConfigError, match="two apps"):
        parse_apps(
            {
                "apps": [
                    {"app_key": "a", "app_secret": "s", "mode": "AX", **twice},
                    {"app_key": "b", "app_secret": "s", "mode": "AX", **twice},
                ]
            }
        )
