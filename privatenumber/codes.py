"""Codes the PrivateNumber platform speaks, each with plain-language Chinese and English text.

* result codes of C→P answers (spec §7), with the HTTP status, whether retrying can help and what an
  operator should do;
* hang-up causes (``stateCode`` of ``disconnect`` events, spec §8);
* call release points (``ulFailReason`` of CDRs, spec §9);
* Q.850 causes (``fwdUnaswRsn`` / ``callOutUnaswRsn`` of CDRs, spec §10);
* service types, X-number statuses and their causes (spec §6.2, §6.3).

Look-ups never raise: an unknown code gets a generic entry that names it, because the platform adds
codes over time and a console page must still render. The simulator imports this module too, so the
two sides cannot disagree about a code's HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass

from privatenumber import modes
from privatenumber.auth import CODE_BAD_DIGEST as CODE_BAD_DIGEST_PLACEHOLDER


@dataclass(frozen=True)
class ResultCode:
    """One ``resultcode`` of a C→P answer.

    ``permanent`` is True when repeating the same request cannot succeed (fix the request, the
    configuration or the account first); False for the transient rows where a later retry may.
    """

    code: str
    http_status: int
    en: str
    zh: str
    permanent: bool
    action_en: str
    action_zh: str


def _rc(
    code: str,
    http_status: int,
    en: str,
    zh: str,
    action_en: str,
    action_zh: str,
    *,
    permanent: bool = True,
) -> ResultCode:
    return ResultCode(code, http_status, en, zh, permanent, action_en, action_zh)


_HEADER_ACTION_EN = "Fix the signing code: the auth headers are malformed (see spec §2)."
_HEADER_ACTION_ZH = "检查鉴权头的生成代码：鉴权头格式不正确（见接口规范第 2 节）。"

# HTTP statuses: the spec documents 200/400/500 and 403 for 1010002 and 1012001; the 403 of the
# other 101xxxx business codes follows the table layout and is UNCONFIRMED per code (spec §7).
_RESULT_CODE_LIST: tuple[ResultCode, ...] = (
    _rc("0", 200, "Success.", "成功。", "", "", permanent=False),
    _rc(
        "1023006",
        400,
        "Authorization not contained in the HTTP header.",
        "HTTP 头中缺少 Authorization。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023007",
        400,
        "realm not contained in Authorization.",
        "Authorization 中缺少 realm。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023008",
        400,
        "profile not contained in Authorization.",
        "Authorization 中缺少 profile。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023009",
        400,
        "The value of realm in Authorization must be SDP.",
        "Authorization 中 realm 的取值必须为 SDP。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023010",
        400,
        "The value of profile in Authorization must be UsernameToken.",
        "Authorization 中 profile 的取值必须为 UsernameToken。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023011",
        400,
        "The value of type in Authorization must be app_key.",
        "Authorization 中 type 的取值必须为 Appkey。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023012",
        400,
        "type not contained in Authorization.",
        "Authorization 中缺少 type。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023033",
        400,
        "HTTP header not found X-AKSK field.",
        "HTTP 头中缺少 X-AKSK（旧版为 X-WSSE）。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023034",
        400,
        "UserName not contained in X-AKSK.",
        "X-AKSK 中缺少 UserName。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023035",
        400,
        "Nonce not contained in X-AKSK.",
        "X-AKSK 中缺少 Nonce（或格式不正确）。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023036",
        400,
        "Created not contained in X-AKSK.",
        "X-AKSK 中缺少 Created（或格式不正确）。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023037",
        400,
        "PasswordDigest not contained in X-AKSK.",
        "X-AKSK 中缺少 PasswordDigest。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    _rc(
        "1023038",
        400,
        "UsernameToken not contained in X-AKSK.",
        "X-AKSK 中缺少 UsernameToken。",
        _HEADER_ACTION_EN,
        _HEADER_ACTION_ZH,
    ),
    # UNCONFIRMED (spec §2.3, §7): the real code for a wrong PasswordDigest is not legible in the
    # public pages; 1010012 is the spec's invented placeholder, shared with privatenumber.auth.
    _rc(
        CODE_BAD_DIGEST_PLACEHOLDER,
        400,
        "Invalid PasswordDigest.",
        "PasswordDigest 校验失败。",
        "Check the application's APP_Secret and the digest formula of the signing scheme.",
        "检查应用的 APP_Secret 是否正确，以及摘要的计算方法是否与鉴权方式一致。",
    ),
    _rc(
        "1010013",
        400,
        "Time out limit.",
        "请求已超时（Created 与平台时间相差过大）。",
        "Synchronise the server clock (NTP); Created must be the current UTC time.",
        "请校准服务器时钟（NTP）；Created 必须是当前的 UTC 时间。",
    ),
    _rc(
        "1010002",
        403,
        "Invalid request.",
        "请求参数不合法。",
        "Correct the parameter named in the description and send again.",
        "按结果描述中指出的参数修正后重新提交。",
    ),
    _rc(
        "1010003",
        403,
        "Invalid app_key.",
        "app_key 无效。",
        "Check the APP_Key configured for this application.",
        "检查本应用配置的 APP_Key 是否正确。",
    ),
    _rc(
        "1010010",
        403,
        "The flow control upper limit is reached on the platform.",
        "已达到平台流控上限。",
        "Wait about a minute and retry; lower the request rate if it recurs.",
        "等待约一分钟后重试；如频繁出现请降低调用频率。",
        permanent=False,
    ),
    _rc(
        "1010021",
        403,
        "Application unavailable.",
        "应用不可用。",
        "Check on the Huawei Cloud console that the application is in the normal state.",
        "在华为云控制台确认应用处于正常状态。",
    ),
    _rc(
        "1010029",
        403,
        "The subscriber status is frozen.",
        "用户状态已冻结。",
        "The account is frozen or in arrears: top up or contact Huawei Cloud.",
        "账号已冻结或欠费：请充值或联系华为云。",
    ),
    _rc(
        "1010040",
        403,
        "The app_key is not allowed to invoke the API.",
        "该 app_key 无权调用此接口。",
        "The application belongs to another mode: use the interfaces of its own mode.",
        "该应用属于其他模式：请调用与应用模式一致的接口。",
    ),
    _rc(
        "1011003",
        403,
        "Exceeded the upper limit of resources that can be applied for.",
        "超过可申请资源的上限。",
        "This A number already holds 5 X numbers: unbind one first.",
        "该 A 号码已绑定 5 个 X 号码：请先解绑其中一个。",
    ),
    # UNCONFIRMED (spec §7): the text of 1011004 is not legible; meaning taken from AX unbind.
    _rc(
        "1011004",
        403,
        "Binding or number not found for this application.",
        "未找到该应用下的绑定关系或号码。",
        "Check the subscriptionId or X number; the binding may already be gone.",
        "检查 subscriptionId 或 X 号码；绑定关系可能已被解除。",
    ),
    _rc(
        "1011005",
        403,
        "Resources have been allocated.",
        "资源已被分配。",
        "The number is already allocated: pick another X number.",
        "该号码已被分配：请选择其他 X 号码。",
    ),
    _rc(
        "1012001",
        403,
        "Resource of number is not to be applied.",
        "号码资源不属于本应用。",
        "The number or binding does not belong to this application: check the app and the number.",
        "该号码或绑定关系不属于本应用：请核对应用和号码。",
    ),
    _rc(
        "1012007",
        403,
        "The record does not exist.",
        "录音记录不存在。",
        "Recording not found: wrong file name, account in arrears, or older than 7 days.",
        "录音不存在：文件名错误、账号欠费或录音已超过 7 天被删除。",
    ),
    # UNCONFIRMED (spec §7): English text of 1012008 not legible; meaning from the FAQ.
    _rc(
        "1012008",
        403,
        "Insufficient free numbers.",
        "可用号码不足。",
        "No free X number in that city: use loose matching, another city, or buy numbers.",
        "该城市没有空闲的 X 号码：请使用宽松匹配（areaMatchMode=1）、更换城市或购买号码。",
    ),
    _rc(
        "1012010",
        403,
        "The number has been bound.",
        "号码已被绑定。",
        "A or B is already bound on this X: use another X number for this pair.",
        "A 或 B 已在该 X 号码上绑定：请为这对号码使用另一个 X 号码。",
    ),
    _rc(
        "1012102",
        403,
        "The number is contained in the blacklist.",
        "号码在黑名单中。",
        "The X number is blacklisted (complaints, arrears, real-name check): use another X.",
        "该 X 号码已被列入黑名单（投诉、欠费或实名认证失败）：请使用其他 X 号码。",
    ),
    _rc(
        "1016001",
        403,
        "The record does not exist.",
        "记录不存在。",
        "The binding (or recording) does not exist: it may have expired or been unbound.",
        "绑定关系（或录音）不存在：可能已过期或已解绑。",
    ),
    _rc(
        "1016002",
        403,
        "The record already exists.",
        "记录已存在。",
        "This A–X binding already exists: query it instead of binding again.",
        "该 A–X 绑定关系已存在：请查询现有绑定，无需重复绑定。",
    ),
    # Second edition (spec §7); the 403 of these rows is UNCONFIRMED (privatenumber.unconfirmed).
    _rc(
        "1020166",
        403,
        "The app client ip is not in ip white list.",
        "调用方 IP 不在应用的 IP 白名单中。",
        "Add the console's outbound IP address to the application's IP whitelist on the Huawei "
        "Cloud console; retrying before that cannot succeed.",
        "请在华为云控制台把本系统的出口 IP 地址加入该应用的 IP 白名单；修改前重试不会成功。",
    ),
    _rc(
        "1020167",
        403,
        "No idle extend Number.",
        "没有空闲的分机号。",
        "AXE: this X has no free extension (or the requested one is taken): choose another X or "
        "let the platform allocate the extension.",
        "AXE 模式：该 X 号码没有空闲分机号（或指定的分机号已被占用）："
        "请换一个 X 号码，或由平台分配分机号。",
    ),
    _rc(
        "1020176",
        403,
        "Authentication failed, try again later.",
        "鉴权失败次数过多，请稍后再试。",
        "The platform locked this client IP after repeated authentication failures. The console "
        "pauses this application's platform calls: check its APP_Key and APP_Secret, wait for the "
        "lock to end, then resume the application's platform calls.",
        "平台因多次鉴权失败暂时锁定了本系统的 IP。系统已暂停该应用的平台调用：请核对 APP_Key 和 "
        "APP_Secret，等待锁定解除后，在应用页面恢复平台调用。",
        permanent=False,
    ),
    # Historical: renamed 1012010 on 2022-05-13 (spec §7); decoded the same way.
    _rc(
        "1013102",
        403,
        "The number has been bound.",
        "号码已被绑定。",
        "A or B is already bound on this X: use another X number for this pair.",
        "A 或 B 已在该 X 号码上绑定：请为这对号码使用另一个 X 号码。",
    ),
    _rc(
        "1010001",
        500,
        "Internal system error.",
        "系统内部错误。",
        "Retry later; if it persists, contact Huawei Cloud support.",
        "稍后重试；如持续出现请联系华为云技术支持。",
        permanent=False,
    ),
    _rc(
        "1023001",
        500,
        "Internal error.",
        "内部错误。",
        "Retry later; if it persists, contact Huawei Cloud support.",
        "稍后重试；如持续出现请联系华为云技术支持。",
        permanent=False,
    ),
    _rc(
        "1023002",
        500,
        "Response timeout.",
        "响应超时。",
        "Retry once; query first if the request changes a binding.",
        "重试一次；如请求会修改绑定关系，请先查询确认。",
        permanent=False,
    ),
)

RESULT_CODES: dict[str, ResultCode] = {entry.code: entry for entry in _RESULT_CODE_LIST}

# Codes where the same request may succeed later: flow control, the platform's 5xx rows and the
# authentication lock (once it is over).
TRANSIENT_RESULT_CODES: frozenset[str] = frozenset(
    entry.code for entry in _RESULT_CODE_LIST if entry.code != "0" and not entry.permanent
)

# Codes after which nothing more may be sent for the application until a person looks: the client
# IP is locked after repeated authentication failures, and every further request would extend the
# lock (spec §7 "back off, do not hammer").
PAUSING_RESULT_CODES: frozenset[str] = frozenset({"1020176"})


def describe_result(code: str) -> ResultCode:
    """The entry for ``code``; an unknown code gets a generic permanent entry naming it.

    Unknown codes are treated as permanent so that nothing retries blindly on a code nobody has
    read; ``http_status`` 0 means "not known".
    """
    code = str(code).strip()
    known = RESULT_CODES.get(code)
    if known is not None:
        return known
    return ResultCode(
        code=code,
        http_status=0,
        en=f"Unknown result code {code}.",
        zh=f"未知结果码 {code}。",
        permanent=True,
        action_en="Look the code up in Huawei Cloud's PrivateNumber error-code list.",
        action_zh="请在华为云隐私保护通话的错误码列表中查询该代码。",
    )


@dataclass(frozen=True)
class Cause:
    """A numeric code of a call (hang-up cause, release point or Q.850 cause) explained."""

    code: int
    category: str
    en: str
    zh: str
    action_en: str = ""
    action_zh: str = ""


# Categories of hang-up causes follow spec §8. "normal" is ours for code 0 (the spec's "–").
CATEGORIES: dict[str, tuple[str, str]] = {
    "normal": ("Normal", "正常"),
    "binding": ("Binding", "绑定关系"),
    "caller": ("Caller", "主叫"),
    "number": ("Number", "号码"),
    "callee": ("Callee", "被叫"),
    "tenant": ("Application", "应用/租户"),
    "control": ("Call control", "呼叫管控"),
    "platform": ("Platform", "平台"),
    "network": ("Network", "网络"),
    "unknown": ("Unknown", "未知"),
}

_ACT_BINDING_EN = "Check that the binding exists, has not expired and uses global-format numbers."
_ACT_BINDING_ZH = "检查绑定关系是否存在、是否已过期，号码是否为带国家码的全局格式。"
_ACT_CONTROL_EN = "Blocked by call control: check the number's status and call frequency."
_ACT_CONTROL_ZH = "被呼叫管控拦截：请检查号码状态和呼叫频率。"
_ACT_SUPPORT_EN = "Platform-side problem: retry the call; contact Huawei Cloud if it persists."
_ACT_SUPPORT_ZH = "平台侧问题：请重新呼叫；如持续出现请联系华为云。"
_ACT_APP_EN = "Check the application's configuration and capabilities on the Huawei Cloud console."
_ACT_APP_ZH = "请在华为云控制台检查应用的配置和能力。"


def _causes(category: str, rows: tuple[tuple, ...]) -> dict[int, Cause]:
    """Build causes of one category from (code, en, zh[, action_en, action_zh]) rows."""
    return {row[0]: Cause(row[0], category, *row[1:]) for row in rows}


HANGUP_CAUSES: dict[int, Cause] = {
    **_causes(
        "normal", ((0, "Normal hang-up after the call was answered.", "通话接通后正常挂机。"),)
    ),
    **_causes(
        "binding",
        (
            (
                8013,
                "Invalid AX call: the AX binding exists but has no temporary callee.",
                "无效的 AX 呼叫：AX 绑定关系存在，但未设置临时被叫。",
                "Set a temporary callee before A dials X.",
                "A 拨打 X 之前，请先设置临时被叫。",
            ),
            (
                8014,
                "Invalid AXB/X call: no binding, wrong number format or bad X-mode Block answer.",
                "无效的 AXB/X 呼叫：绑定关系不存在、号码格式错误或 X 模式 Block 应答不合法。",
                _ACT_BINDING_EN,
                _ACT_BINDING_ZH,
            ),
            (
                8016,
                "AX/AXB call direction not allowed.",
                "AX/AXB 呼叫方向不允许。",
                "Check the binding's callDirection.",
                "检查绑定关系的呼叫方向（callDirection）。",
            ),
            (
                8019,
                "No callback record (AXE, A calls X).",
                "无回呼记录（AXE 模式，A 拨打 X）。",
                "Set callbackNum or callbackTone on the binding.",
                "在绑定关系中设置 callbackNum 或 callbackTone。",
            ),
            (
                8022,
                "Binding missing or expired (AXE, B calls X).",
                "绑定关系不存在或已过期（AXE 模式，B 拨打 X）。",
                _ACT_BINDING_EN,
                _ACT_BINDING_ZH,
            ),
            (
                8030,
                "AXYB binding does not exist.",
                "AXYB 绑定关系不存在。",
                _ACT_BINDING_EN,
                _ACT_BINDING_ZH,
            ),
            (
                8031,
                "AXYB: allocating Y during the call failed.",
                "AXYB 模式：通话中分配 Y 号码失败。",
                "Check that the application has free Y numbers.",
                "检查应用是否还有空闲的 Y 号码。",
            ),
        ),
    ),
    **_causes(
        "caller",
        (
            (7501, "Caller hung up before the callee rang.", "被叫振铃前主叫挂机。"),
            (7502, "Caller hung up while the callee was ringing.", "被叫振铃时主叫挂机。"),
            (
                7516,
                "Caller hung up before the transfer (e.g. AXE, before entering the extension).",
                "转接前主叫挂机（例如 AXE 模式未输入分机号即挂机）。",
            ),
            (
                8032,
                "AXYB: the user dialled the private number bound to himself.",
                "AXYB 模式：用户拨打了与自己绑定的隐私号码。",
            ),
            (8033, "Empty extension received.", "收到的分机号为空。"),
        ),
    ),
    **_causes(
        "number",
        (
            (
                8025,
                "The dialled X number does not exist (AXE).",
                "所拨打的 X 号码不存在（AXE 模式）。",
                "Check that the X number belongs to this application.",
                "检查该 X 号码是否属于本应用。",
            ),
        ),
    ),
    **_causes(
        "callee",
        (
            (7503, "Callee rejected the call.", "被叫拒接。"),
            (
                7504,
                "Call refused: callee rejected, has DND/blacklist service or interception app.",
                "呼叫被拒绝：被叫拒接、开通了免打扰/黑名单类业务或安装了拦截软件。",
            ),
            (
                8035,
                "Platform connection timeout (about 90 s after transfer).",
                "平台接续超时（转接后约 90 秒）。",
            ),
            (8100, "Callee number does not exist.", "被叫号码不存在。"),
            (8101, "No answer after ringing (carrier timeout).", "被叫振铃无应答（运营商超时）。"),
            (8102, "Callee busy.", "被叫忙。"),
            (8103, "Callee unreachable.", "被叫暂时无法接通。"),
            (
                8104,
                "Callee powered off, in airplane mode or without network.",
                "被叫关机、飞行模式或无网络。",
            ),
            (8105, "Callee line suspended.", "被叫已停机。"),
        ),
    ),
    **_causes(
        "tenant",
        (
            (7100, "Application does not exist.", "应用不存在。", _ACT_APP_EN, _ACT_APP_ZH),
            (
                7101,
                "Application has no private-number resources.",
                "应用没有隐私号码资源。",
                "Buy or assign X numbers to the application.",
                "为应用购买或分配 X 号码。",
            ),
            (7105, "Service type mismatch.", "业务类型不匹配。", _ACT_APP_EN, _ACT_APP_ZH),
            (
                7106,
                "Application lacks privacy-call capability.",
                "应用未开通隐私通话能力。",
                _ACT_APP_EN,
                _ACT_APP_ZH,
            ),
            (
                7108,
                "User status frozen.",
                "用户状态已冻结。",
                "The account is frozen or in arrears: top up or contact Huawei Cloud.",
                "账号已冻结或欠费：请充值或联系华为云。",
            ),
            (
                7507,
                "No voice file.",
                "放音文件不存在。",
                "Upload the voice file and wait for approval.",
                "请上传放音文件并等待审核通过。",
            ),
            (
                8006,
                "X-mode voice file does not exist.",
                "X 模式放音文件不存在。",
                "Upload the voice file and wait for approval.",
                "请上传放音文件并等待审核通过。",
            ),
            (8010, "Maximum call duration reached.", "已达到最大通话时长。"),
        ),
    ),
    **_causes(
        "control",
        (
            (
                7001,
                "Developer call-frequency control.",
                "开发者呼叫频次管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (
                7002,
                "Application call-frequency control.",
                "应用呼叫频次管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (
                7003,
                "Display-number call-frequency control.",
                "显示号码呼叫频次管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (7004, "Callee blacklist control.", "被叫黑名单管控。"),
            (7005, "Caller blacklist control.", "主叫黑名单管控。"),
            (7107, "Security-control prompt playback failed.", "安全管控提示音播放失败。"),
            (7109, "Tenant voice ports exhausted.", "租户语音端口资源耗尽。"),
            (7500, "Call prefix restricted.", "呼叫前缀受限。"),
            (
                8018,
                "No service permission (including no AX binding).",
                "无业务权限（包括无 AX 绑定关系）。",
                _ACT_BINDING_EN,
                _ACT_BINDING_ZH,
            ),
            (
                8023,
                "A fixed-line number is not allowed as caller.",
                "固话号码不允许作为主叫。",
                "Fixed-line A/B numbers can only receive calls from X.",
                "固话 A/B 号码只能接听来自 X 的呼叫，不能主动拨打 X。",
            ),
            (
                8024,
                'The "show real caller" mode is not allowed.',
                "不允许使用“显示真实主叫”模式。",
                "Display the X number (displayNumMode 0).",
                "请显示 X 号码（displayNumMode 设为 0）。",
            ),
            (8042, "International incoming calls restricted.", "国际来话受限。"),
            (8043, "International outgoing calls restricted.", "国际去话受限。"),
            (
                8044,
                "Abnormal call-duration control.",
                "异常通话时长管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (
                8046,
                "Abnormal answer-rate control.",
                "异常接通率管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (8047, "Caller frequency control.", "主叫频次管控。", _ACT_CONTROL_EN, _ACT_CONTROL_ZH),
            (8048, "Callee frequency control.", "被叫频次管控。", _ACT_CONTROL_EN, _ACT_CONTROL_ZH),
            (
                8049,
                "Service-number frequency control.",
                "业务号码频次管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (8050, "Call time-window restriction.", "呼叫时间段限制。"),
            (8051, "Sub-enterprise suspended.", "子企业已暂停。"),
            (
                8055,
                "X number unavailable (no call/SMS permission).",
                "X 号码不可用（无呼叫/短信权限）。",
                "Check the X number's status.",
                "请检查 X 号码的状态。",
            ),
            (8056, "Dial-test number control.", "拨测号码管控。"),
            (8057, "Call-direction control.", "呼叫方向管控。"),
        ),
    ),
    **_causes(
        "platform",
        (
            (
                522,
                "Platform voice ports exhausted.",
                "平台语音端口资源耗尽。",
                _ACT_SUPPORT_EN,
                _ACT_SUPPORT_ZH,
            ),
            (8007, "Last-minute prompt playback failed.", "最后一分钟提示音播放失败。"),
            (8008, "Play-and-collect failed.", "放音收号失败。"),
            (8015, "Recording failed.", "录音失败。", _ACT_SUPPORT_EN, _ACT_SUPPORT_ZH),
            (8041, "Recording failed.", "录音失败。", _ACT_SUPPORT_EN, _ACT_SUPPORT_ZH),
            (
                7102,
                "Other abnormal platform behaviour.",
                "平台其他异常。",
                _ACT_SUPPORT_EN,
                _ACT_SUPPORT_ZH,
            ),
            (
                8011,
                "Other abnormal platform behaviour.",
                "平台其他异常。",
                _ACT_SUPPORT_EN,
                _ACT_SUPPORT_ZH,
            ),
            (
                8020,
                "Other abnormal platform behaviour.",
                "平台其他异常。",
                _ACT_SUPPORT_EN,
                _ACT_SUPPORT_ZH,
            ),
            (
                8040,
                "Other abnormal platform behaviour.",
                "平台其他异常。",
                _ACT_SUPPORT_EN,
                _ACT_SUPPORT_ZH,
            ),
            (
                8139,
                "Other abnormal platform behaviour.",
                "平台其他异常。",
                _ACT_SUPPORT_EN,
                _ACT_SUPPORT_ZH,
            ),
        ),
    ),
    **_causes(
        "network",
        (
            (7505, "Caller-side network error.", "主叫侧网络异常。"),
            (
                7506,
                "Callee-side network error (e.g. malformed bound number).",
                "被叫侧网络异常（例如绑定的号码格式错误）。",
                "Check that the bound numbers are in global format (+86…).",
                "检查绑定的号码是否为全局格式（+86…）。",
            ),
            (7508, "Routing failed.", "路由失败。"),
        ),
    ),
}


# Release points carry no category in the spec (§9); we give each the category of the §8 hang-up
# cause with the same code, or the nearest one, so the console can group them the same way.
RELEASE_POINTS: dict[int, Cause] = {
    **_causes("normal", ((0, "Normal hang-up after answer.", "通话接通后正常挂机。"),)),
    **_causes(
        "control",
        (
            (
                7001,
                "Developer call-frequency control.",
                "开发者呼叫频次管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (
                7002,
                "Application call-frequency control.",
                "应用呼叫频次管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (
                7003,
                "Display-number call-frequency control.",
                "显示号码呼叫频次管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (7004, "Callee blacklist control.", "被叫黑名单管控。"),
            (7005, "Caller blacklist control.", "主叫黑名单管控。"),
            (7107, "Security-control prompt playback failed.", "安全管控提示音播放失败。"),
            (7109, "Voice ports exhausted.", "语音端口资源耗尽。"),
            (7500, "Call prefix restricted.", "呼叫前缀受限。"),
            (
                8018,
                "No service permission (including no AX binding).",
                "无业务权限（包括无 AX 绑定关系）。",
                _ACT_BINDING_EN,
                _ACT_BINDING_ZH,
            ),
            (8023, "A fixed-line number is not allowed as caller.", "固话号码不允许作为主叫。"),
            (8024, 'The "show real caller" mode is not allowed.', "不允许使用“显示真实主叫”模式。"),
            (8042, "International incoming calls restricted.", "国际来话受限。"),
            (8043, "International outgoing calls restricted.", "国际去话受限。"),
            (
                8044,
                "Abnormal call-duration control.",
                "异常通话时长管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (
                8046,
                "Abnormal answer-rate control.",
                "异常接通率管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (8047, "Caller frequency control.", "主叫频次管控。", _ACT_CONTROL_EN, _ACT_CONTROL_ZH),
            (8048, "Callee frequency control.", "被叫频次管控。", _ACT_CONTROL_EN, _ACT_CONTROL_ZH),
            (
                8049,
                "Service-number frequency control.",
                "业务号码频次管控。",
                _ACT_CONTROL_EN,
                _ACT_CONTROL_ZH,
            ),
            (8050, "Call time-window restriction.", "呼叫时间段限制。"),
            (8051, "Sub-enterprise suspended.", "子企业已暂停。"),
            (
                8055,
                "X number has no call/SMS permission.",
                "X 号码无呼叫/短信权限。",
                "Check the X number's status.",
                "请检查 X 号码的状态。",
            ),
            (8056, "Dial-test number control.", "拨测号码管控。"),
            (8057, "Call-direction control.", "呼叫方向管控。"),
            (
                8058,
                "Practitioner not real-name registered.",
                "从业人员未实名登记。",
                "Complete the real-name registration of the number's user.",
                "请完成号码使用人的实名登记。",
            ),
            (8059, "Intercepted by the carrier.", "被运营商拦截。"),
        ),
    ),
    **_causes(
        "tenant",
        (
            (7100, "Application does not exist.", "应用不存在。", _ACT_APP_EN, _ACT_APP_ZH),
            (7101, "Application has no private-number resources.", "应用没有隐私号码资源。"),
            (7105, "Service type mismatch.", "业务类型不匹配。", _ACT_APP_EN, _ACT_APP_ZH),
            (
                7106,
                "Application lacks privacy-call capability.",
                "应用未开通隐私通话能力。",
                _ACT_APP_EN,
                _ACT_APP_ZH,
            ),
            (7108, "User status frozen.", "用户状态已冻结。"),
            (7507, "No voice file.", "放音文件不存在。"),
            (8006, "Voice file does not exist.", "放音文件不存在。"),
            (8010, "Maximum call duration reached.", "已达到最大通话时长。"),
            (
                8012,
                "Invalid app_key.",
                "app_key 无效。",
                "Check the APP_Key configured for this application.",
                "检查本应用配置的 APP_Key 是否正确。",
            ),
        ),
    ),
    **_causes(
        "binding",
        (
            (7103, "Caller number information does not exist.", "主叫号码信息不存在。"),
            (
                7104,
                "AX binding does not exist.",
                "AX 绑定关系不存在。",
                _ACT_BINDING_EN,
                _ACT_BINDING_ZH,
            ),
            (
                8013,
                "Invalid AX call (AX binding but no temporary callee).",
                "无效的 AX 呼叫（存在 AX 绑定关系，但未设置临时被叫）。",
                "Set a temporary callee before A dials X.",
                "A 拨打 X 之前，请先设置临时被叫。",
            ),
            (8014, "Invalid AXB call.", "无效的 AXB 呼叫。", _ACT_BINDING_EN, _ACT_BINDING_ZH),
            (
                8016,
                "AX/AXB call direction not allowed.",
                "AX/AXB 呼叫方向不允许。",
                "Check the binding's callDirection.",
                "检查绑定关系的呼叫方向（callDirection）。",
            ),
            (
                8019,
                "No callback record (AXE/AX, A calls X).",
                "无回呼记录（AXE/AX 模式，A 拨打 X）。",
                "Set callbackNum or callbackTone on the binding.",
                "在绑定关系中设置 callbackNum 或 callbackTone。",
            ),
            (
                8022,
                "Binding missing or expired (AXE, B calls X).",
                "绑定关系不存在或已过期（AXE 模式，B 拨打 X）。",
                _ACT_BINDING_EN,
                _ACT_BINDING_ZH,
            ),
        ),
    ),
    **_causes(
        "number",
        (
            (
                8025,
                "The dialled X number does not exist (AXE).",
                "所拨打的 X 号码不存在（AXE 模式）。",
            ),
        ),
    ),
    **_causes(
        "caller",
        (
            (7501, "Caller hung up before the callee rang.", "被叫振铃前主叫挂机。"),
            (7502, "Caller hung up while the callee was ringing.", "被叫振铃时主叫挂机。"),
            (
                7516,
                "Caller hung up before the transfer (e.g. AXE, without entering the extension).",
                "转接前主叫挂机（例如 AXE 模式未输入分机号即挂机，非平台主动拆线）。",
            ),
            (8009, "Caller hung up before answer.", "应答前主叫挂机。"),
            (8033, "Empty extension received.", "收到的分机号为空。"),
            # UNCONFIRMED (spec §9): 8106–8111 are the sibling VoiceCall table's meanings.
            (8106, "Caller number does not exist.", "主叫号码不存在。"),
            (8107, "Caller did not answer.", "主叫无应答。"),
            (8108, "Caller busy.", "主叫忙。"),
            (8109, "Caller temporarily unreachable.", "主叫暂时无法接通。"),
            (8110, "Caller powered off.", "主叫关机。"),
            (8111, "Caller hung up or line suspended.", "主叫挂机或已停机。"),
        ),
    ),
    **_causes(
        "callee",
        (
            (7503, "Callee hung up.", "被叫挂机。"),
            (7504, "Call rejected.", "呼叫被拒绝。"),
            (8002, "The far end returned a failure announcement.", "对端返回失败提示音。"),
            (8003, "Ringing timeout.", "振铃超时。"),
            (8004, "Hung up while ringing.", "振铃时挂机。"),
            (8035, "Callee did not answer, ringing timed out.", "被叫未接听，振铃超时。"),
            (8100, "Callee number does not exist.", "被叫号码不存在。"),
            (8101, "Callee did not answer.", "被叫无应答。"),
            # UNCONFIRMED (spec §9): 8102–8105 are the sibling VoiceCall table's meanings.
            (8102, "Callee busy.", "被叫忙。"),
            (8103, "Callee temporarily unreachable.", "被叫暂时无法接通。"),
            (8104, "Callee powered off.", "被叫关机。"),
            (8105, "Callee hung up or line suspended.", "被叫挂机或已停机。"),
        ),
    ),
    **_causes(
        "platform",
        (
            (522, "Voice ports exhausted.", "语音端口资源耗尽。", _ACT_SUPPORT_EN, _ACT_SUPPORT_ZH),
            (7102, "Internal service error.", "内部业务错误。", _ACT_SUPPORT_EN, _ACT_SUPPORT_ZH),
            (8005, "TTS conversion failed.", "TTS 转换失败。"),
            (8007, "Prompt playback failed.", "提示音播放失败。"),
            (8008, "Play-and-collect failed.", "放音收号失败。"),
            (8011, "Internal error.", "内部错误。", _ACT_SUPPORT_EN, _ACT_SUPPORT_ZH),
            (8040, "Internal error.", "内部错误。", _ACT_SUPPORT_EN, _ACT_SUPPORT_ZH),
            (8015, "Recording failed.", "录音失败。", _ACT_SUPPORT_EN, _ACT_SUPPORT_ZH),
            (8041, "Recording failed.", "录音失败。", _ACT_SUPPORT_EN, _ACT_SUPPORT_ZH),
            (8020, "Service error.", "业务错误。", _ACT_SUPPORT_EN, _ACT_SUPPORT_ZH),
        ),
    ),
    **_causes(
        "network",
        (
            (7505, "Caller-side network error.", "主叫侧网络异常。"),
            (
                7506,
                "Callee-side network error (e.g. malformed bound number).",
                "被叫侧网络异常（例如绑定的号码格式错误）。",
                "Check that the bound numbers are in global format (+86…).",
                "检查绑定的号码是否为全局格式（+86…）。",
            ),
            (7508, "Routing failed.", "路由失败。"),
        ),
    ),
}


# Q.850 causes are grouped by the ITU-T Q.850 class the code falls in.
def _q850_category(code: int) -> str:
    if code == 0:
        return "none"
    if code <= 31:
        return "normal"
    if code <= 47:
        return "resource"
    if code <= 63:
        return "service"
    if code <= 79:
        return "not_implemented"
    if code <= 95:
        return "invalid_message"
    if code <= 111:
        return "protocol"
    return "interworking"


_Q850_ROWS: tuple[tuple[int, str, str], ...] = (
    (0, "Not applicable.", "不适用。"),
    (1, "Unallocated (unassigned) number.", "号码不存在（空号）。"),
    (2, "No route to specified transit network.", "无至指定转接网络的路由。"),
    (3, "No route to destination.", "无至目的地的路由。"),
    (4, "Send special information tone.", "发送专用信息音。"),
    (5, "Misdialled trunk prefix.", "中继前缀错误。"),
    (6, "Channel unacceptable.", "信道不可接受。"),
    (
        7,
        "Call awarded and being delivered in an established channel.",
        "呼叫已在已建立的信道中接续。",
    ),
    (8, "Preemption.", "预占。"),
    (9, "Preemption, circuit reserved for reuse.", "预占，电路保留待用。"),
    (16, "Normal call clearing.", "正常呼叫清除。"),
    (17, "User busy.", "用户忙。"),
    (18, "No user responding.", "用户无响应。"),
    (19, "No answer from user (user alerted).", "用户无应答（已振铃）。"),
    (20, "Subscriber absent.", "用户不在服务区。"),
    (21, "Call rejected.", "呼叫被拒绝。"),
    (22, "Number changed.", "号码已改变。"),
    (23, "Redirection to new destination.", "重定向至新目的地。"),
    (25, "Exchange routing error.", "交换局路由错误。"),
    (26, "Non-selected user clearing.", "非选定用户清除。"),
    (27, "Destination out of order.", "目的地故障。"),
    (28, "Invalid number format (address incomplete).", "号码格式无效（地址不全）。"),
    (29, "Facility rejected.", "设施被拒绝。"),
    (30, "Response to status enquiry.", "对状态询问的响应。"),
    (31, "Normal, unspecified.", "正常，未指定。"),
    (34, "No circuit/channel available.", "无可用电路/信道。"),
    (38, "Network out of order.", "网络故障。"),
    (39, "Permanent frame mode connection out of service.", "永久连接已停止服务。"),
    (40, "Permanent frame mode connection operational.", "永久连接可运行。"),
    (41, "Temporary failure.", "临时故障。"),
    (42, "Switching equipment congestion.", "交换设备拥塞。"),
    (43, "Access information discarded.", "接入信息被丢弃。"),
    (44, "Requested circuit/channel not available.", "请求的电路/信道不可用。"),
    (46, "Precedence call blocked.", "优先呼叫被阻塞。"),
    (47, "Resource unavailable, unspecified.", "资源不可用，未指定。"),
    (49, "Quality of service not available.", "服务质量不可用。"),
    (50, "Requested facility not subscribed.", "未订购所请求的设施。"),
    (53, "Outgoing calls barred within closed user group.", "闭合用户群内禁止呼出。"),
    (55, "Incoming calls barred within closed user group.", "闭合用户群内禁止呼入。"),
    (57, "Bearer capability not authorized.", "承载能力未授权。"),
    (58, "Bearer capability not presently available.", "承载能力当前不可用。"),
    (62, "Inconsistency in outgoing access and subscriber class.", "出局接入与用户等级不一致。"),
    (63, "Service or option not available, unspecified.", "业务或选项不可用，未指定。"),
    (65, "Bearer capability not implemented.", "承载能力未实现。"),
    (66, "Channel type not implemented.", "信道类型未实现。"),
    (69, "Requested facility not implemented.", "所请求的设施未实现。"),
    (
        70,
        "Only restricted digital information bearer capability available.",
        "仅有受限数字信息承载能力可用。",
    ),
    (79, "Service or option not implemented, unspecified.", "业务或选项未实现，未指定。"),
    (81, "Invalid call reference value.", "无效的呼叫参考值。"),
    (82, "Identified channel does not exist.", "所标识的信道不存在。"),
    (83, "A suspended call exists, but this call identity does not.", "呼叫标识不存在。"),
    (84, "Call identity in use.", "呼叫标识正在使用。"),
    (85, "No call suspended.", "无挂起的呼叫。"),
    (
        86,
        "Call having the requested call identity has been cleared.",
        "具有所请求呼叫标识的呼叫已清除。",
    ),
    (87, "User not member of closed user group.", "用户不是闭合用户群成员。"),
    (88, "Incompatible destination.", "目的地不兼容。"),
    (90, "Non-existent closed user group.", "闭合用户群不存在。"),
    (91, "Invalid transit network selection.", "无效的转接网络选择。"),
    (95, "Invalid message, unspecified.", "无效消息，未指定。"),
    (96, "Mandatory information element is missing.", "缺少必选信息单元。"),
    (97, "Message type non-existent or not implemented.", "消息类型不存在或未实现。"),
    (
        98,
        "Message not compatible with call state or message type non-existent.",
        "消息与呼叫状态不兼容或消息类型未实现。",
    ),
    (
        99,
        "Information element / parameter non-existent or not implemented.",
        "信息单元不存在或未实现。",
    ),
    (100, "Invalid information element contents.", "信息单元内容无效。"),
    (101, "Message not compatible with call state.", "消息与呼叫状态不兼容。"),
    (102, "Recovery on timer expiry.", "定时器超时恢复。"),
    (103, "Parameter non-existent or not implemented, passed on.", "参数不存在或未实现。"),
    (110, "Message with unrecognized parameter, discarded.", "含有无法识别参数的消息被丢弃。"),
    (111, "Protocol error, unspecified.", "协议错误，未指定。"),
    (127, "Interworking, unspecified.", "互通，未指定。"),
)

Q850_CAUSES: dict[int, Cause] = {
    code: Cause(code, _q850_category(code), en, zh) for code, en, zh in _Q850_ROWS
}


def _lookup(table: dict[int, Cause], code: int | str | None) -> Cause:
    """Find ``code`` in ``table``; anything else becomes an ``unknown`` entry naming it.

    ``None`` and ``""`` (a field the platform left out or sent empty) get code -1 and say so,
    because 0 means "normal" in every one of these tables and must not be invented.
    """
    if code is None or (isinstance(code, str) and not code.strip()):
        return Cause(-1, "unknown", "No code given", "未提供代码")
    try:
        number = int(str(code).strip())
    except ValueError:
        return Cause(-1, "unknown", f"Unknown code {code}", f"未知代码 {code}")
    known = table.get(number)
    if known is not None:
        return known
    return Cause(number, "unknown", f"Unknown code {number}", f"未知代码 {number}")


def hangup_cause(code: int | str | None) -> Cause:
    """The meaning of a ``stateCode`` from a ``disconnect`` call event (spec §8)."""
    return _lookup(HANGUP_CAUSES, code)


def release_point(code: int | str | None) -> Cause:
    """The meaning of a CDR's ``ulFailReason`` (spec §9)."""
    return _lookup(RELEASE_POINTS, code)


def q850_cause(code: int | str | None) -> Cause:
    """The meaning of a CDR's ``fwdUnaswRsn`` or ``callOutUnaswRsn`` (spec §10)."""
    return _lookup(Q850_CAUSES, code)


# CDR serviceType (spec §6.2), from the mode table. "004" is shared by AXB and X mode: it names
# AXB here, and the application's mode decides. UNCONFIRMED: "003" for AX is only seen in examples.
SERVICE_TYPES: dict[str, str] = {
    mode.service_type: mode.name for mode in modes.MODES.values() if not mode.asks_customer
}

# X-number status of a numStatus push (spec §6.3).
X_NUMBER_STATUSES: dict[str, tuple[str, str]] = {
    "5": ("Normal", "正常"),
    "9": ("Paused: no binding, calls or SMS", "已暂停：不能绑定、呼叫和收发短信"),
    "10": ("Unavailable: no binding, calls or SMS", "不可用：不能绑定、呼叫和收发短信"),
    "11": (
        "Binding frozen: no new bindings, existing bindings keep working",
        "绑定冻结：不能新建绑定，已有绑定正常使用",
    ),
}

# Why an X number is unavailable (status 10, spec §6.3).
X_NUMBER_CAUSES: dict[str, tuple[str, str]] = {
    "1": ("Number deleted", "号码已删除"),
    "2": ("Account in arrears", "账号欠费"),
    "3": ("Number suspended", "号码已停机"),
    "5": ("Restricted by the carrier", "被运营商限制"),
    "6": ("Carrier restriction lifted", "运营商已解除限制"),
    "7": ("Unconditional call forwarding enabled on X", "X 号码开通了无条件呼叫转移"),
    "8": ("Call forwarding on no answer enabled on X", "X 号码开通了无应答呼叫转移"),
    "9": ("Call forwarding on busy enabled on X", "X 号码开通了遇忙呼叫转移"),
}
