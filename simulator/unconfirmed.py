"""Every UNCONFIRMED choice of the simulator, in one place (spec §13).

The public documentation leaves these points open. Each constant says what the simulator does and
why; tests must not treat them as facts about the real platform. Change a choice here, not at the
place that uses it.
"""

from __future__ import annotations

# --- Authentication (spec §2) -----------------------------------------------------------------
# The tolerated distance between ``Created`` and the platform's clock is not published.
DEFAULT_MAX_SKEW_SECONDS = 300
# Nonce replay detection is not documented; off unless ``--reject-replayed-nonce`` is given.
REJECT_REPLAYED_NONCE = False
# ... and a replayed header is refused as a stale one.
REPLAYED_NONCE_CODE = "1010013"

# --- Result codes of refusals the documentation does not name ------------------------------------
# Desc of 1010002: the platform "usually names the bad parameter"; the exact wording is unknown.
INVALID_PARAM_DESC = "Invalid request. The parameter {name} is invalid."
MISSING_PARAM_DESC = "Invalid request. The parameter {name} is missing."
# A bind on an X that exists in the app but is paused (9), unavailable (10) or frozen (11).
X_NOT_USABLE_CODE = "1012001"
# AX bind naming an X already owned by another A (one A per X); spec lists 1011005 for allocation.
AX_X_TAKEN_CODE = "1011005"
# AXB bind on an X that already holds its 5000 pairs.
AXB_X_FULL_CODE = "1012008"
# AX unbind of an unknown binding: spec §5.2.4 names 1011004 (text unknown).
AX_UNBIND_NOT_FOUND_CODE = "1011004"
# AXE bind with an extension already taken on that X, or the same A twice on one X.
AXE_TAKEN_CODE = "1016002"
# Recording download address asked for an unknown or expired file.
RECORD_MISSING_CODE = "1012007"
# Stop-call with an unknown sessionId.
CALL_MISSING_CODE = "1016001"

# --- Selection of X (spec §5.1.1) -----------------------------------------------------------------
# Loose matching "prefers the same province": the simulator tries the same city first (a subset of
# the province), then the province, then any X of the app.
LOOSE_TRIES_CITY_FIRST = True
# Neither an X nor an areaCode given: the platform "picks by A's area". The simulator cannot place a
# mobile A, so it picks any free X of the app at random.
NO_AREA_PICKS_ANY = True
# AX bind with areaCode: ``privateNumType`` is marked "required when areaCode is used" (N*).
AX_REQUIRE_PRIVATE_NUM_TYPE = True

# --- AXYB (spec §5.4.1): body names are those of the query answer (numA, numX, numB, numY, ...).
# The first step binds A-X; the second carries the AX subscriptionId and numB (numY optional) and
# answers the YB relation's own id as subscriptionId and Y as relationNumber. A numB in the first
# step is refused (1010002 naming subscriptionId) rather than guessed at (see core.axyb_bind).

# --- Mode rule ------------------------------------------------------------------------------------
# Stop-call (§5.4.4) is documented under AXYB only; other modes get 1010040.
STOP_CALL_MODES = frozenset({"AXYB"})

# --- AXE (spec §5.3) ------------------------------------------------------------------------------
# Default ``timeUnit`` when absent: older text says hours.
AXE_DEFAULT_TIME_UNIT = "0"
# v2 query: cursor paging. Field names and limits are unconfirmed.
AXE_V2_LIST_FIELD = "bindList"
AXE_V2_CURSOR_FIELD = "nextCursor"
AXE_V2_FIRST_CURSOR = "0000000000000_0"
AXE_V2_DEFAULT_LIMIT = 50
AXE_V2_MAX_LIMIT = 100

# --- AX (spec §5.2) -------------------------------------------------------------------------------
AX_TEMP_CALLEE_DEFAULT_SECONDS = 60
# ``turnFlag`` "off": calls to X are refused with this hang-up cause / release point.
AX_TURNED_OFF_CAUSE = 8018

# --- Pushes (spec §6.0) ---------------------------------------------------------------------------
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
# CDR extension field name (doc table ``extendNumber``; samples ``extendNum``).
CDR_EXTENSION_FIELD = "extendNumber"
# Stop-call ends an answered call with this hang-up cause (no documented code for it).
STOP_CALL_STATE_CODE = 0
# X mode: the customer answered a Block callin with ``close``; no documented cause, the call is
# released as "no service permission".
X_CLOSE_CAUSE = 8018
# The ``event`` of SMS notices. (Block answers are accepted with or without the ``actions``
# wrapper: see simulator.sms.)
SMS_EVENT_TEXT = "Text SMS"

# --- Recordings (spec §5.5, §11) ------------------------------------------------------------------
# 8 kHz mono 16-bit PCM WAV; files live 7 days from the CDR push; the 301 Location lives 30 minutes.
RECORDING_LIFETIME_SECONDS = 7 * 24 * 3600
RECORDING_LINK_LIFETIME_SECONDS = 30 * 60
RECORDING_MIN_SECONDS = 3
