"""The one register of what the platform's public documentation leaves open (spec §13).

Both sides read it: the client and its schemas (:mod:`privatenumber.schemas`) and the simulator
(``simulator/unconfirmed.py`` re-exports this module, it holds no list of its own). Each entry says
what we do and why; an entry that was looked up in Huawei's pages or samples says what was found
and where (``found:``). Tests must not treat the UNCONFIRMED entries as facts about the real
platform. Change a choice here, not at the place that uses it.
"""

from __future__ import annotations

# =================================================================================================
# Looked up in Huawei's pages and samples (second edition of the contract): these are confirmed.
# =================================================================================================

# AXYB bind (spec §5.4.1). found: the bind table of
# https://support.huaweicloud.com/api-PrivateNumber/privatenumber_axyb_0017.html (表5 "设置AX绑定
# 关系": origNum, areaCode, areaMatchMode, …; 表6 "设置YB绑定关系": origNum = the B number, …) and
# the Node sample https://support.huaweicloud.com/devg-PrivateNumber/privatenumber_01_0023.html
# (origNum_A / origNum_B, areaCode, subscriptionId). No field names the X or the Y: the platform
# chooses them in the city named by areaCode and answers the chosen one as relationNumber.
# numA/numX/numB/numY exist only in the query answer (privatenumber_axyb_0019).
AXYB_AX_STEP_FIELDS = (
    "origNum",
    "areaCode",
    "areaMatchMode",
    "callDirection",
    "duration",
    "ybDuration",
    "recordFlag",
    "recordHintTone",
    "preVoiceX",
    "preVoiceY",
    "userData",
)
AXYB_YB_STEP_FIELDS = (
    "origNum",
    "subscriptionId",
    "areaCode",
    "areaMatchMode",
    "callDirection",
    "ybDuration",
    "recordFlag",
    "recordHintTone",
    "preVoiceY",
    "userData",
)
# The same Node sample writes ``var recordFlag = true`` (a JSON boolean) where every table says
# String "true"/"false": the simulator accepts both for recordFlag; the client sends the string.
RECORD_FLAG_ACCEPTS_BOOLEAN = True

# Stop call (spec §5.4.4). found: the request example of
# https://support.huaweicloud.com/api-PrivateNumber/privatenumber_axyb_0023.html
# {"sessionid": "1200_366_0_20161228102743@callenabler.home1.com", "signal": "call_stop"}:
# lower-case "sessionid".
STOP_CALL_SIGNAL = "call_stop"
STOP_CALL_SESSION_FIELD = "sessionid"

# AX bind ``calleeNumDisplay`` (spec §5.2.1): what A sees when someone else calls X. found: every
# AX sample of https://support.huaweicloud.com/devg-PrivateNumber/privatenumber_01_0006.html sets
# "0" (the X). The console sends the application's setting, "0" unless an administrator changes it.
AX_CALLEE_NUM_DISPLAY_DEFAULT = "0"

# QueryAXEBindingCount (spec §5.4.5). found, on
# https://support.huaweicloud.com/api-PrivateNumber/privatenumber_02_0025.html:
# ``GET /rest/caas/virtualnumber/v1.0``; URL parameters ``number`` (an X, %2B-escaped, optional:
# without it the app's numbers are listed page by page), ``cursor`` (the previous answer's
# nextCursor, "0" the first time, 1 to 20 digits, ignored with number) and ``limit`` (Integer
# 1-100, default 50, ignored with number).
AXE_COUNT_URI = "/rest/caas/virtualnumber/v1.0"
AXE_COUNT_FIRST_CURSOR = "0"
AXE_COUNT_LIMIT_RANGE = (1, 100)
AXE_COUNT_DEFAULT_LIMIT = 50
# UNCONFIRMED: the response table of that page could not be read in the stored copy. Our names:
# the list ``numberList`` of {``number``, ``bindCount``} and ``nextCursor`` (the request table
# names the cursor so), absent on the last page; a single ``number`` answers a one-item list. The
# client requires the list, so a wrong guess fails loudly (BAD_RESPONSE) instead of reading as
# "0 bindings".
AXE_COUNT_LIST_FIELD = "numberList"
AXE_COUNT_NUMBER_FIELD = "number"
AXE_COUNT_COUNT_FIELD = "bindCount"
AXE_COUNT_CURSOR_FIELD = "nextCursor"
# A number that is not the app's: the code AXB answers for a foreign number (UNCONFIRMED here).
AXE_COUNT_FOREIGN_NUMBER_CODE = "1012001"

# AXE bind: found: Huawei's AXE samples (Node, PHP, Python,
# https://support.huaweicloud.com/devg-PrivateNumber/privatenumber_01_0019.html, _0016, _0017)
# send ``displayNumMode``; only the C# sample says calleeNumDisplay. We send displayNumMode and
# accept both when parsing (spec §5.3.1).
AXE_DISPLAY_NUM_MODE_NAMES = ("displayNumMode", "calleeNumDisplay")

# SMS notices (spec §6.4). found: the Notify example of
# https://support.huaweicloud.com/api-PrivateNumber/privatenumber_02_0008_2.html carries
# "sendResult": 2 and "extInfo": {"extParas": [{"key": "splitNum", "value": "0"},
# {"key": "direction", "value": "2"}]}; the Block example of privatenumber_02_0008_3 carries
# extParas splitNum "2", direction "1". The 2019-03-04 change log says "支持获取短信发送结果".
SMS_EXT_SPLIT_NUM = "splitNum"
SMS_EXT_DIRECTION = "direction"
# UNCONFIRMED: the value table of sendResult could not be read. No meaning is assumed: the console
# stores and shows the number. The simulator sends the documented example's value.
SMS_SEND_RESULT_MEANINGS: dict[int, tuple[str, str]] = {}
SMS_SEND_RESULT = 2
# UNCONFIRMED: direction by analogy with the CDR's (0 B→A, 1 A→B, 2 abnormal / unknown), which
# the spec states for "2"; splitNum "0" for a one-part SMS, else the number of parts.
SMS_DIRECTIONS = {"0": "B→A", "1": "A→B", "2": "unknown"}
SMS_PART_CHARACTERS = 70

# CDRs (spec §6.2): ttsPlayTimes, ttsTransDuration and mptyId are in every CDR example (reserved;
# 0, 0 and ""), and recording object names are the session id's part before "@" with ".wav"
# (the documented example ``1200_366_0_20190123091514.wav``; VoiceCall's sample passes
# "1200_…" to its recording interface).
CDR_RESERVED_DEFAULTS = {"ttsPlayTimes": 0, "ttsTransDuration": 0, "mptyId": ""}
RECORDING_NAME_SUFFIX = ".wav"

# Result codes of the second edition (spec §7): 1020166 IP not on the whitelist, 1020167 no idle
# AXE extension, 1020176 IP locked after repeated authentication failures, 1013102 the historical
# name of 1012010. Their HTTP status is UNCONFIRMED (403, following the table layout).
CODE_IP_NOT_WHITELISTED = "1020166"
CODE_NO_IDLE_EXTENSION = "1020167"
CODE_AUTH_LOCKED = "1020176"

# =================================================================================================
# UNCONFIRMED: still open after looking. Each value is our best reconstruction.
# =================================================================================================

# --- Authentication (spec §2) --------------------------------------------------------------------
# The tolerated distance between ``Created`` and the platform's clock is not published.
DEFAULT_MAX_SKEW_SECONDS = 300
# Nonce replay detection is not documented; off unless ``--reject-replayed-nonce`` is given.
REJECT_REPLAYED_NONCE = False
# ... and a replayed header is refused as a stale one.
REPLAYED_NONCE_CODE = "1010013"
# 1020176: after how many authentication failures, and for how long, the platform locks a client
# IP is not published. Simulator: off unless an app sets ``auth_lock_failures``; then that many
# failed authentications of one app from one address within ``AUTH_LOCK_WINDOW_SECONDS`` lock
# that address out of that app (per app, so one test's wrong secret cannot lock another's) for
# ``auth_lock_seconds`` (platform seconds, scaled).
AUTH_LOCK_WINDOW_SECONDS = 600
AUTH_LOCK_DEFAULT_SECONDS = 1800
# 1020166: the application's IP whitelist is configured on Huawei's console; the simulator checks
# an app's ``ip_whitelist`` (empty: everybody) before authentication.

# --- Pushes: is a retry signed again? (spec §6.0) ------------------------------------------------
# Not documented. The simulator signs every attempt anew by default and, with
# ``--push-retry-header reuse``, sends a retry with the header of its first attempt (same Nonce,
# same Created, possibly hours old); the console holds such pushes instead of refusing them
# (docs/notifications.md).
PUSH_RETRY_HEADER_MODES = ("resign", "reuse")
PUSH_RETRY_HEADER_DEFAULT = "resign"

# --- Result codes of refusals the documentation does not name ------------------------------------
# Desc of 1010002: the platform "usually names the bad parameter"; the exact wording is unknown.
INVALID_PARAM_DESC = "Invalid request. The parameter {name} is invalid."
MISSING_PARAM_DESC = "Invalid request. The parameter {name} is missing."
# What the platform does with a field its table does not have is not documented. The simulator
# is strict (1010002 naming the field), so a misnamed field shows up in tests, not in production.
UNKNOWN_PARAM_DESC = "Invalid request. The parameter {name} is not supported."
# A bind on an X that exists in the app but is paused (9), unavailable (10) or frozen (11).
X_NOT_USABLE_CODE = "1012001"
# AX bind naming an X already owned by another A (one A per X); spec lists 1011005 for allocation.
AX_X_TAKEN_CODE = "1011005"
# AXB bind on an X that already holds its 5000 pairs.
AXB_X_FULL_CODE = "1012008"
# AX unbind of an unknown binding: spec §5.2.4 names 1011004 (text unknown).
AX_UNBIND_NOT_FOUND_CODE = "1011004"
# AXE bind with an extension already taken on that X, or no extension left: "No idle extend
# Number." (1020167, spec §7). The same A twice on one X stays 1016002 "The record already exists."
AXE_TAKEN_CODE = CODE_NO_IDLE_EXTENSION
AXE_SAME_A_CODE = "1016002"
# Recording download address asked for an unknown or expired file.
RECORD_MISSING_CODE = "1012007"
# Stop-call with an unknown sessionid.
CALL_MISSING_CODE = "1016001"

# --- Selection of X (spec §5.1.1) ----------------------------------------------------------------
# Loose matching "prefers the same province": the simulator tries the same city first (a subset of
# the province), then the province, then any X of the app.
LOOSE_TRIES_CITY_FIRST = True
# Neither an X nor an areaCode given: the platform "picks by A's area". The simulator cannot place a
# mobile A, so it picks any free X of the app at random.
NO_AREA_PICKS_ANY = True
# AX bind with areaCode: ``privateNumType`` is marked "required when areaCode is used" (N*), and
# Huawei's samples send this value (spec §5.2.1).
AX_REQUIRE_PRIVATE_NUM_TYPE = True
AX_PRIVATE_NUM_TYPE = "mobile-virtual"

# --- AXYB (spec §5.4) ----------------------------------------------------------------------------
# The second step answers the YB relation's own id as subscriptionId and Y as relationNumber.
# Stop-call (§5.4.4) is documented under AXYB only; other modes get 1010040.
STOP_CALL_MODES = frozenset({"AXYB"})

# --- AXE (spec §5.3) -----------------------------------------------------------------------------
# Default ``timeUnit`` when absent: older text says hours.
AXE_DEFAULT_TIME_UNIT = "0"
# v2 query: cursor paging. Field names and limits are unconfirmed.
AXE_V2_LIST_FIELD = "bindList"
AXE_V2_CURSOR_FIELD = "nextCursor"
AXE_V2_FIRST_CURSOR = "0000000000000_0"
AXE_V2_DEFAULT_LIMIT = 50
AXE_V2_MAX_LIMIT = 100
AXE_V2_LIMIT_RANGE = (1, AXE_V2_MAX_LIMIT)

# --- AX (spec §5.2) ------------------------------------------------------------------------------
AX_TEMP_CALLEE_DEFAULT_SECONDS = 60
# ``turnFlag`` "off": calls to X are refused with this hang-up cause / release point.
AX_TURNED_OFF_CAUSE = 8018
# AX modify: Huawei's sample marks privateSms as the mandatory field (spec §5.2.2).
AX_MODIFY_REQUIRES_PRIVATE_SMS = True

# --- Pushes (spec §6.0) --------------------------------------------------------------------------
# Retries at 1, 4, 9, 106, 203, 300 minutes, measured from the original failure (not from the
# previous retry); at most 6 retries.
RETRY_OFFSETS_MINUTES = (1, 4, 9, 106, 203, 300)
# Any 2xx answer counts as delivered.
SUCCESS_STATUSES = range(200, 300)
# X-number status and SMS notices use the CDR schedule; X-mode Block callin is not retried.
RETRIED_KINDS = frozenset({"event", "fee", "numStatus", "sms"})
# Per-event caller/called: callin {caller: real caller, called: X};
# later events {caller: X (displayed), called: real callee}.
# Which AXE event carries ``digitInfo``: callout.
AXE_DIGITINFO_EVENTS = frozenset({"callout"})
# CDR extension field name (doc table ``extendNumber``; samples ``extendNum``): we accept both and
# emit extendNumber.
CDR_EXTENSION_FIELD = "extendNumber"
FEE_EXTEND_NUMBER_NAMES = ("extendNumber", "extendNum")
# CDR recordFileDownloadUrl has no published length; signed URLs can be long.
RECORD_URL_MAX_LENGTH = 4096
# Stop-call ends an answered call with this hang-up cause (no documented code for it).
STOP_CALL_STATE_CODE = 0
# X mode: the customer answered a Block callin with ``close``; no documented cause, the call is
# released as "no service permission".
X_CLOSE_CAUSE = 8018
# The ``event`` of SMS notices. (Block answers are accepted with or without the ``actions``
# wrapper: see simulator.sms.)
SMS_EVENT_TEXT = "Text SMS"

# --- Recordings (spec §5.5, §11) -----------------------------------------------------------------
# 8 kHz mono 16-bit PCM WAV; files live 7 days from the CDR push; the 301 Location lives 30 minutes.
RECORDING_LIFETIME_SECONDS = 7 * 24 * 3600
RECORDING_LINK_LIFETIME_SECONDS = 30 * 60
RECORDING_MIN_SECONDS = 3
