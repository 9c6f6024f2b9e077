"""Typed errors of the platform client.

A service catches :class:`PlatformError` and reads two facts off it: ``permanent`` (stop, and show
the operator the code's meaning) and ``may_have_landed`` (the request may have changed something on
the platform although no answer arrived, so a bind must be checked with a query before it is sent
again). Celery retries :class:`PlatformTransientError` only.

Nothing here ever carries a secret: the message is built from the result code, the platform's
``resultdesc`` and the interface name.
"""

from __future__ import annotations

from typing import Any

from privatenumber.codes import describe_result


class PlatformError(Exception):
    """The platform refused a request, or it could not be asked, or its answer made no sense.

    ``code`` is the platform's ``resultcode`` when there is one; otherwise one of ours, written
    in capitals so it cannot clash with the platform's numeric codes: ``HTTP404``, ``HTTP<status>``,
    ``TIMEOUT``, ``CONNECTION``, ``BAD_RESPONSE``, ``PAUSED`` (refused by the client's gate).
    """

    def __init__(
        self,
        code: str,
        description: str,
        *,
        http_status: int | None = None,
        permanent: bool = True,
        interface: str | None = None,
        may_have_landed: bool = False,
    ) -> None:
        super().__init__(code, description)
        self.code = code
        self.description = description
        self.http_status = http_status
        self.permanent = permanent
        self.interface = interface
        self.may_have_landed = may_have_landed

    @property
    def meaning_en(self) -> str:
        """The code's plain-language meaning in English."""
        own = _own_meaning(self.code)
        return own[0] if own else describe_result(self.code).en

    @property
    def meaning_zh(self) -> str:
        """The code's plain-language meaning in Simplified Chinese."""
        own = _own_meaning(self.code)
        return own[1] if own else describe_result(self.code).zh

    @property
    def action_en(self) -> str:
        """What an operator should do about it, in English."""
        own = _own_meaning(self.code)
        return own[2] if own else describe_result(self.code).action_en

    @property
    def action_zh(self) -> str:
        """What an operator should do about it, in Simplified Chinese."""
        own = _own_meaning(self.code)
        return own[3] if own else describe_result(self.code).action_zh

    def __str__(self) -> str:
        where = f" {self.interface}" if self.interface else ""
        status = f" (HTTP {self.http_status})" if self.http_status is not None else ""
        text = (
            f"Platform call{where} failed with {self.code}{status}: {self.meaning_en.rstrip('.')}"
        )
        if self.description and self.description.rstrip(".") != self.meaning_en.rstrip("."):
            text += f" – {self.description.rstrip('.')}"
        text += "."
        if self.may_have_landed:
            text += " The request may have reached the platform; query before retrying."
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep every attribute through pickling (Celery moves exceptions between processes).
        return (type(self), (self.code, self.description), self.__dict__)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, "
            f"interface={self.interface!r}, may_have_landed={self.may_have_landed!r})"
        )


class PlatformTransientError(PlatformError):
    """A failure that a later attempt may not repeat: timeouts, connection errors, 5xx, 1010010."""

    def __init__(
        self,
        code: str,
        description: str,
        *,
        http_status: int | None = None,
        interface: str | None = None,
        may_have_landed: bool = False,
    ) -> None:
        super().__init__(
            code,
            description,
            http_status=http_status,
            permanent=False,
            interface=interface,
            may_have_landed=may_have_landed,
        )


# Codes the client invents for failures that carry no platform result code:
# (meaning_en, meaning_zh, action_en, action_zh).
_OWN_CODES: dict[str, tuple[str, str, str, str]] = {
    "HTTP404": (
        "Wrong base URL or URI",
        "接入地址或接口 URI 错误",
        "Check the application's app access address on the Huawei Cloud console.",
        "请在华为云控制台核对应用的 APP 接入地址。",
    ),
    "TIMEOUT": (
        "The platform did not answer in time",
        "平台未在超时时间内应答",
        "Retried automatically; a bind is checked with a query before it is sent again.",
        "系统会自动重试；重新绑定前会先查询上一次请求是否已生效。",
    ),
    "CONNECTION": (
        "The platform could not be reached",
        "无法连接平台",
        "Retried automatically; check the network and the base URL if it persists.",
        "系统会自动重试；如持续出现请检查网络和接入地址。",
    ),
    "PAUSED": (
        "Not sent: this application's platform calls are paused",
        "未发送：该应用的平台调用已暂停",
        "The platform locked the console out; an administrator resumes the application's "
        "platform calls once the cause is fixed. Waiting work is retried then.",
        "平台已锁定本系统；排除原因后由管理员在应用页面恢复平台调用，待处理的任务随后自动继续。",
    ),
    "BAD_RESPONSE": (
        "The platform's answer could not be understood",
        "无法解析平台的应答",
        "Keep the request log and report it; the platform may have changed its answer.",
        "请保留调用记录并反馈；平台的应答格式可能已变化。",
    ),
}


def own_code_for_status(http_status: int) -> str:
    """Our code for an HTTP failure without a result code: ``HTTP502`` and so on."""
    return f"HTTP{http_status}"


def _own_meaning(code: str) -> tuple[str, str, str, str] | None:
    """The texts of one of our own codes, or None for a platform result code."""
    if code in _OWN_CODES:
        return _OWN_CODES[code]
    if code.startswith("HTTP") and code[4:].isdigit():
        status = code[4:]
        return (
            f"HTTP {status} without a result code",
            f"HTTP {status}，无结果码",
            "Retried automatically if the platform is failing; otherwise check the base URL.",
            "如为平台故障系统会自动重试；否则请检查接入地址。",
        )
    return None
