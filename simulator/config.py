"""The simulator's configuration: applications, their numbers and where pushes go.

A config file is JSON ``{"apps": [AppConfig, ...]}``; the same app objects are accepted by the
control API at run time. Numbers carry a city code and a province; the province is derived from the
city code with :data:`CITY_PROVINCE` when absent, which is all loose area matching needs.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from privatenumber import modes, unconfirmed

MODES = tuple(modes.MODES)
PUSH_SCHEMES = ("AKSK", "WSSE")
APP_STATUSES = ("normal", "unavailable", "frozen")

# City code -> province, enough for loose matching between the cities a test or demo uses.
CITY_PROVINCE: dict[str, str] = {
    "010": "beijing",
    "021": "shanghai",
    "022": "tianjin",
    "023": "chongqing",
    "020": "guangdong",
    "0755": "guangdong",
    "0756": "guangdong",
    "0757": "guangdong",
    "0760": "guangdong",
    "0769": "guangdong",
    "0754": "guangdong",
    "025": "jiangsu",
    "0510": "jiangsu",
    "0512": "jiangsu",
    "0519": "jiangsu",
    "0571": "zhejiang",
    "0574": "zhejiang",
    "0577": "zhejiang",
    "0591": "fujian",
    "0592": "fujian",
    "0531": "shandong",
    "0532": "shandong",
    "027": "hubei",
    "028": "sichuan",
    "029": "shaanxi",
    "024": "liaoning",
    "0411": "liaoning",
    "0371": "henan",
    "0731": "hunan",
    "0791": "jiangxi",
    "0551": "anhui",
    "0311": "hebei",
    "0351": "shanxi",
    "0451": "heilongjiang",
    "0431": "jilin",
    "0871": "yunnan",
    "0851": "guizhou",
    "0771": "guangxi",
    "0898": "hainan",
    "0471": "neimenggu",
    "0931": "gansu",
    "0951": "ningxia",
    "0971": "qinghai",
    "0991": "xinjiang",
    "0891": "xizang",
}

_CITY_RE = re.compile(r"^0\d{2,3}$")
_NUMBER_RE = re.compile(r"^\+\d{6,31}$")


class ConfigError(ValueError):
    """A config file or control-API app definition that cannot be used."""


def province_of(city: str) -> str:
    """The province of a city code, or the city code itself when the table does not know it."""
    return CITY_PROVINCE.get(city, city)


@dataclass
class NumberConfig:
    """One X number of an application."""

    number: str
    city: str
    province: str = ""
    status: str = "5"

    def __post_init__(self) -> None:
        if not _NUMBER_RE.match(self.number):
            raise ConfigError(f"number {self.number!r} is not in global format (+86...)")
        if not _CITY_RE.match(self.city):
            raise ConfigError(f"city code {self.city!r} of {self.number} is not like 0755 or 010")
        if self.status not in ("5", "9", "10", "11"):
            raise ConfigError(f"status {self.status!r} of {self.number} is not 5, 9, 10 or 11")
        self.province = self.province or province_of(self.city)


@dataclass
class AppConfig:
    """One application (应用) of the platform, with its credentials, mode, push URLs and numbers."""

    app_key: str
    app_secret: str
    mode: str
    status_url: str = ""
    fee_url: str = ""
    sms_url: str = ""
    sms_control_url: str = ""
    xstatus_url: str = ""
    push_xstatus: bool = True
    record: bool = False
    sms: bool = False
    sms_content: bool = False
    extension_length: int = 4
    push_scheme: str = ""
    status: str = "normal"
    sp_id: str = "sim_sp"
    # Client addresses allowed to call (empty: any); others get 1020166 (spec §7).
    ip_whitelist: list[str] = field(default_factory=list)
    # After this many failed authentications from one address the address is locked out of
    # the app with 1020176 for auth_lock_seconds (platform seconds); 0 = never (spec §7).
    auth_lock_failures: int = 0
    auth_lock_seconds: int = unconfirmed.AUTH_LOCK_DEFAULT_SECONDS
    numbers: list[NumberConfig] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.app_key or not self.app_secret:
            raise ConfigError("an app needs app_key and app_secret")
        if self.mode not in MODES:
            raise ConfigError(f"app {self.app_key}: mode must be one of {', '.join(MODES)}")
        if self.push_scheme and self.push_scheme not in PUSH_SCHEMES:
            raise ConfigError(f"app {self.app_key}: push_scheme must be AKSK or WSSE")
        if self.status not in APP_STATUSES:
            raise ConfigError(f"app {self.app_key}: status must be one of {APP_STATUSES}")
        if not 1 <= int(self.extension_length) <= 4:
            raise ConfigError(f"app {self.app_key}: extension_length must be 1 to 4")
        if not isinstance(self.ip_whitelist, list) or not all(
            isinstance(address, str) for address in self.ip_whitelist
        ):
            raise ConfigError(f"app {self.app_key}: ip_whitelist must be a list of addresses")
        if int(self.auth_lock_failures) < 0 or int(self.auth_lock_seconds) <= 0:
            raise ConfigError(f"app {self.app_key}: auth_lock_failures >= 0, auth_lock_seconds > 0")
        self.numbers = [
            n if isinstance(n, NumberConfig) else NumberConfig(**n) for n in self.numbers
        ]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AppConfig:
        """Build from JSON, naming unknown keys instead of silently dropping them."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"app {data.get('app_key')!r}: unknown keys {unknown}")
        try:
            numbers = [
                NumberConfig(**n) if isinstance(n, dict) else n for n in data.get("numbers", [])
            ]
            return cls(**{**data, "numbers": numbers})
        except TypeError as exc:
            raise ConfigError(f"app {data.get('app_key')!r}: {exc}") from None

    def to_dict(self, *, with_numbers: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not with_numbers:
            data.pop("numbers")
        return data


def load_config(path: str | Path) -> list[AppConfig]:
    """Read a config file and return its apps; errors name the file and the app."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    return parse_apps(data)


def parse_apps(data: Any) -> list[AppConfig]:
    """Apps from ``{"apps": [...]}`` (or one bare app object)."""
    if isinstance(data, dict) and "apps" in data:
        items = data["apps"]
    elif isinstance(data, dict):
        items = [data]
    else:
        raise ConfigError('config must be {"apps": [...]}')
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError('"apps" must be a list of objects')
    apps = [AppConfig.from_dict(item) for item in items]
    seen: dict[str, str] = {}
    for app in apps:
        for number in app.numbers:
            if number.number in seen and seen[number.number] != app.app_key:
                raise ConfigError(f"number {number.number} belongs to two apps")
            seen[number.number] = app.app_key
    return apps
