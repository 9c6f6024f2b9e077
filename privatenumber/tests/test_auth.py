"""Tests of privatenumber.auth against digests computed independently with openssl.

The expected digests were computed in a shell, not with Python:

    printf '%s' "$NONCE$CREATED" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64   # AKSK
    printf '%s' "$NONCE$CREATED$SECRET" | openssl dgst -sha256 -binary | base64            # WSSE
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from privatenumber import auth
from privatenumber.auth import AuthError, Scheme

APP_KEY = "a1d1f50cad21415fbdd13d8f53d36d60"
SECRET = "Vb2Yx7rQ9sLk3mNp"
NONCE = "66C92B11FF8A425FB8D4CCFE0ED9ED1F"
CREATED = "2018-02-12T15:30:20Z"
CREATED_AT = datetime(2018, 2, 12, 15, 30, 20, tzinfo=UTC)

AKSK_DIGEST = "X5YuUA8NdiD0fXwgvA1QNlIIJ96gx+EqZDCvlrRHDHc="
WSSE_DIGEST = "rbynsKq+igzG0dfuSOXpA6MkEvvSwTW7YFTRR0wXk7M="
# A second vector: a one-character nonce and another secret.
AKSK_DIGEST_2 = "oiMwnIpoEtS0k6JWll/U8cZbv76naGkwMYR9QXhHfgo="
WSSE_DIGEST_2 = "bGwXn+SH3P4xeWwjYALq4Olyjh3A8HMHZLDZP7OzKfs="

AUTHORIZATION = 'AKSK realm="SDP",profile="UsernameToken",type="Appkey"'


def _token(
    *,
    username: str | None = APP_KEY,
    digest: str | None = AKSK_DIGEST,
    nonce: str | None = NONCE,
    created: str | None = CREATED,
) -> str:
    parts = []
    for name, value in (
        ("Username", username),
        ("PasswordDigest", digest),
        ("Nonce", nonce),
        ("Created", created),
    ):
        if value is not None:
            parts.append(f'{name}="{value}"')
    return "UsernameToken " + ", ".join(parts)


def _headers(authorization: str | None = AUTHORIZATION, token: str | None = None) -> dict:
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    headers["X-AKSK"] = _token() if token is None else token
    return headers


def _secrets(app_key: str) -> str | None:
    return SECRET if app_key == APP_KEY else None


def _error_code(headers: dict, **kwargs) -> str:
    with pytest.raises(AuthError) as caught:
        auth.verify_headers(headers, _secrets, now=kwargs.pop("now", CREATED_AT), **kwargs)
    return caught.value.code


# Digests


def test_the_aksk_digest_is_hmac_sha256_of_nonce_and_created() -> None:
    assert auth.password_digest(Scheme.AKSK, SECRET, NONCE, CREATED) == AKSK_DIGEST
    assert auth.password_digest("AKSK", "another-secret", "a1", "2024-06-30T23:59:59Z") == (
        AKSK_DIGEST_2
    )


def test_the_wsse_digest_is_sha256_of_nonce_created_and_secret() -> None:
    assert auth.password_digest(Scheme.WSSE, SECRET, NONCE, CREATED) == WSSE_DIGEST
    assert auth.password_digest("WSSE", "another-secret", "a1", "2024-06-30T23:59:59Z") == (
        WSSE_DIGEST_2
    )


def test_a_digest_is_44_base64_characters() -> None:
    assert len(AKSK_DIGEST) == 44
    assert len(auth.password_digest(Scheme.AKSK, SECRET, auth.new_nonce(), CREATED)) == 44


# Building


def test_it_builds_the_aksk_header_pair() -> None:
    headers = auth.build_headers(APP_KEY, SECRET, nonce=NONCE, created=CREATED_AT)
    assert headers == {
        "Authorization": AUTHORIZATION,
        "X-AKSK": (
            f'UsernameToken Username="{APP_KEY}", PasswordDigest="{AKSK_DIGEST}", '
            f'Nonce="{NONCE}", Created="{CREATED}"'
        ),
    }


def test_it_builds_the_legacy_wsse_header_pair() -> None:
    headers = auth.build_headers(APP_KEY, SECRET, "WSSE", nonce=NONCE, created=CREATED)
    assert headers["Authorization"] == 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"'
    assert headers["X-WSSE"] == (
        f'UsernameToken Username="{APP_KEY}", PasswordDigest="{WSSE_DIGEST}", '
        f'Nonce="{NONCE}", Created="{CREATED}"'
    )


def test_created_is_utc_without_milliseconds() -> None:
    beijing = datetime(2018, 2, 12, 23, 30, 20, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert auth.format_created(beijing) == "2018-02-12T15:30:20Z"


def test_created_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        auth.format_created(datetime(2018, 2, 12, 15, 30, 20))


def test_a_new_nonce_has_the_documented_shape() -> None:
    nonce = auth.new_nonce()
    assert auth.NONCE_RE.fullmatch(nonce)
    assert len(nonce) == 32
    assert nonce != auth.new_nonce()


def test_built_headers_verify() -> None:
    for scheme in Scheme:
        headers = auth.build_headers(APP_KEY, SECRET, scheme)
        verified = auth.verify_headers(headers, _secrets)
        assert verified.app_key == APP_KEY
        assert verified.scheme is scheme


# Verifying


def test_it_verifies_the_documented_aksk_pair() -> None:
    verified = auth.verify_headers(_headers(), _secrets, now=CREATED_AT)
    assert verified == auth.Verified(app_key=APP_KEY, scheme=Scheme.AKSK, created=CREATED_AT)


def test_it_verifies_a_wsse_pair_as_pushed_with_lower_case_header_names() -> None:
    headers = {
        "content-type": "application/json;charset=UTF-8",
        "authorization": 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"',
        "x-wsse": _token(digest=WSSE_DIGEST),
    }
    verified = auth.verify_headers(headers, _secrets, now=CREATED_AT)
    assert verified.scheme is Scheme.WSSE


def test_header_names_are_case_insensitive() -> None:
    headers = {"AUTHORIZATION": AUTHORIZATION, "x-aksk": _token()}
    assert auth.verify_headers(headers, _secrets, now=CREATED_AT).app_key == APP_KEY


def test_a_wsse_digest_does_not_pass_as_aksk() -> None:
    assert _error_code(_headers(token=_token(digest=WSSE_DIGEST))) == "1010012"


def test_a_wrong_digest_gives_1010012() -> None:
    assert _error_code(_headers(token=_token(digest=AKSK_DIGEST_2))) == "1010012"


def test_a_wrong_secret_gives_1010012() -> None:
    with pytest.raises(AuthError) as caught:
        auth.verify_headers(_headers(), lambda key: "not-the-secret", now=CREATED_AT)
    assert caught.value.code == "1010012"
    assert caught.value.app_key == APP_KEY


def test_an_unknown_app_key_gives_1010003() -> None:
    assert _error_code(_headers(token=_token(username="someone-else"))) == "1010003"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        pytest.param(None, "1023006", id="no-authorization"),
        pytest.param("", "1023006", id="empty-authorization"),
        pytest.param('Basic realm="SDP"', "1023006", id="unknown-scheme"),
        pytest.param('AKSK profile="UsernameToken",type="Appkey"', "1023007", id="no-realm"),
        pytest.param('AKSK realm="SDP",type="Appkey"', "1023008", id="no-profile"),
        pytest.param('AKSK realm="X",profile="UsernameToken",type="Appkey"', "1023009", id="realm"),
        pytest.param('AKSK realm="SDP",profile="Token",type="Appkey"', "1023010", id="profile"),
        pytest.param('AKSK realm="SDP",profile="UsernameToken",type="Key"', "1023011", id="type"),
        pytest.param('AKSK realm="SDP",profile="UsernameToken"', "1023012", id="no-type"),
    ],
)
def test_authorization_faults_have_their_codes(authorization: str | None, code: str) -> None:
    assert _error_code(_headers(authorization=authorization)) == code


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param("", "1023033", id="no-token-header"),
        pytest.param(
            _token().replace("UsernameToken ", "Token "), "1023038", id="no-usernametoken"
        ),
        pytest.param(_token(username=None), "1023034", id="no-username"),
        pytest.param(_token(username=""), "1023034", id="empty-username"),
        pytest.param(_token(nonce=None), "1023035", id="no-nonce"),
        pytest.param(_token(created=None), "1023036", id="no-created"),
        pytest.param(_token(digest=None), "1023037", id="no-digest"),
    ],
)
def test_token_faults_have_their_codes(token: str, code: str) -> None:
    assert _error_code(_headers(token=token)) == code


def test_an_aksk_authorization_with_a_wsse_token_header_gives_1023033() -> None:
    headers = {"Authorization": AUTHORIZATION, "X-WSSE": _token()}
    assert _error_code(headers) == "1023033"


@pytest.mark.parametrize(
    "nonce",
    [
        pytest.param("66C92B11-FF8A-425F", id="dashes"),
        pytest.param("abc def", id="space"),
        pytest.param("A" * 129, id="129-characters"),
        pytest.param("随机数", id="not-ascii"),
    ],
)
def test_a_malformed_nonce_gives_1023035(nonce: str) -> None:
    assert _error_code(_headers(token=_token(nonce=nonce))) == "1023035"


@pytest.mark.parametrize("nonce", ["a", "Z9", "A" * 128])
def test_a_nonce_of_1_to_128_letters_or_digits_is_accepted(nonce: str) -> None:
    digest = auth.password_digest(Scheme.AKSK, SECRET, nonce, CREATED)
    headers = _headers(token=_token(nonce=nonce, digest=digest))
    assert auth.verify_headers(headers, _secrets, now=CREATED_AT).app_key == APP_KEY


@pytest.mark.parametrize(
    "created",
    ["2018-02-12T15:30:20.000Z", "2018-02-12 15:30:20", "2018-02-12T15:30:20+08:00", "yesterday"],
)
def test_a_malformed_created_gives_1023036(created: str) -> None:
    digest = auth.password_digest(Scheme.AKSK, SECRET, NONCE, created)
    assert _error_code(_headers(token=_token(created=created, digest=digest))) == "1023036"


@pytest.mark.parametrize(
    "offset",
    [timedelta(minutes=5, seconds=1), -timedelta(minutes=5, seconds=1), timedelta(days=1)],
)
def test_a_created_more_than_five_minutes_away_gives_1010013(offset: timedelta) -> None:
    assert _error_code(_headers(), now=CREATED_AT + offset) == "1010013"


@pytest.mark.parametrize("offset", [timedelta(minutes=5), -timedelta(minutes=5), timedelta(0)])
def test_a_created_within_five_minutes_is_accepted(offset: timedelta) -> None:
    verified = auth.verify_headers(_headers(), _secrets, now=CREATED_AT + offset)
    assert verified.created == CREATED_AT


def test_the_tolerated_skew_is_configurable() -> None:
    later = CREATED_AT + timedelta(minutes=2)
    assert _error_code(_headers(), now=later, max_skew=timedelta(minutes=1)) == "1010013"
    verified = auth.verify_headers(
        _headers(), _secrets, now=CREATED_AT + timedelta(hours=1), max_skew=timedelta(hours=2)
    )
    assert verified.app_key == APP_KEY


def test_the_digest_is_checked_before_the_clock() -> None:
    # A forged request must not learn that its Created is merely stale.
    later = CREATED_AT + timedelta(hours=1)
    assert _error_code(_headers(token=_token(digest=AKSK_DIGEST_2)), now=later) == "1010012"


def test_secrets_never_appear_in_errors_or_reprs() -> None:
    with pytest.raises(AuthError) as caught:
        auth.verify_headers(_headers(token=_token(digest="d3JvbmcK")), _secrets, now=CREATED_AT)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    token = auth.parse_headers(_headers())
    assert AKSK_DIGEST not in repr(token)


def test_a_stale_created_with_a_right_digest_says_who_signed() -> None:
    created = datetime(2018, 2, 12, 15, 30, 20, tzinfo=UTC)
    headers = auth.build_headers("app-key-1", "secret-1", created=created)
    token = auth.parse_headers(headers)
    with pytest.raises(auth.StaleCreated) as stale:
        auth.verify_token(token, "secret-1", now=created + timedelta(hours=5))
    assert stale.value.code == auth.CODE_STALE_CREATED
    assert (stale.value.verified.app_key, stale.value.verified.created) == ("app-key-1", created)
    with pytest.raises(auth.AuthError) as wrong:
        auth.verify_token(token, "another-secret", now=created + timedelta(hours=5))
    assert wrong.value.code == auth.CODE_BAD_DIGEST  # a wrong digest is never merely stale
