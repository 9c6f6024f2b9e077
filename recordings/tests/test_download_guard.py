"""Recordings are downloaded from the platform's hosts only (issue 13, finding 6: blind request
forgery). A CDR without ``recordDomain`` had its ``recordFileDownloadUrl`` fetched as it was, for
example ``http://127.0.0.1:…/healthz``; a redirect could lead anywhere too."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from recordings import services
from recordings.choices import RecordingState
from recordings.download import (
    AddressRefused,
    GuardedAdapter,
    UrlPolicy,
    guard,
    is_public,
    pooled_session,
)
from recordings.models import Recording

pytestmark = [pytest.mark.postgres, pytest.mark.simulator, pytest.mark.django_db]


class Server:
    """A local HTTP server that counts the requests it gets; answers 302 to ``redirect`` if set."""

    def __init__(self, redirect: str | None = None) -> None:
        self.hits: list[str] = []
        self.redirect = redirect
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits.append(self.path)
                if server.redirect:
                    self.send_response(302)
                    self.send_header("Location", server.redirect)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@contextmanager
def serving(redirect: str | None = None) -> Iterator[Server]:
    server = Server(redirect)
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def direct(recording: Recording, url: str) -> None:
    """The recording's CDR named no recordDomain, only a recordFileDownloadUrl."""
    Recording.objects.filter(pk=recording.pk).update(record_domain="", download_url=url)


def refused(recording: Recording) -> Recording:
    recording.refresh_from_db()
    assert recording.state == RecordingState.FAILED
    assert recording.last_error_code == "ADDRESS_REFUSED"
    return recording


def test_a_direct_url_to_the_console_itself_is_never_requested(platform):
    # given an internal service on loopback, named by a CDR
    with serving() as internal:
        recording = platform.recorded(20)
        direct(recording, f"{internal.url}/healthz")
        # when
        services.fetch(recording.pk)
    # then
    assert internal.hits == []
    assert "nor a recording host" in refused(recording).last_error


def test_a_redirect_from_the_platform_to_a_loopback_address_is_not_followed(platform, settings):
    # given the platform's file server redirects to a loopback service, whose name is even on
    # the allow-list: the address decides
    settings.RECORDINGS_DOWNLOAD_HOSTS = ["127.0.0.1", "localhost"]
    with serving() as internal, serving(redirect=f"{internal.url}/admin/") as platform_files:
        platform.application.base_url = platform_files.url
        platform.application.save(update_fields=["base_url"])
        recording = platform.recorded(20)
        direct(recording, f"{platform_files.url}/files/recording.wav")
        # when
        services.fetch(recording.pk)
    # then the platform was asked, the loopback service never
    assert platform_files.hits == ["/files/recording.wav"]
    assert internal.hits == []
    assert "not a public address" in refused(recording).last_error


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "file:///etc/passwd"]
)
def test_a_redirect_to_link_local_or_private_addresses_is_refused_before_connecting(
    platform, settings, target
):
    settings.RECORDINGS_DOWNLOAD_HOSTS = ["169.254.169.254", "10.0.0.1"]
    with serving(redirect=target) as platform_files:
        platform.application.base_url = platform_files.url
        platform.application.save(update_fields=["base_url"])
        recording = platform.recorded(20)
        direct(recording, f"{platform_files.url}/files/recording.wav")
        services.fetch(recording.pk)
    assert refused(recording)


def test_the_platform_itself_still_serves_recordings(platform):
    """The simulator is the application's base URL (on loopback): trusted as configured."""
    recording = platform.recorded(20)
    assert services.fetch(recording.pk) == RecordingState.STORED


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 - an address under test, not bound
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
    ],
)
def test_only_public_addresses_are_public(address, public):
    assert is_public(address) is public


def test_the_policy_reads_hosts_and_domains():
    policy = UrlPolicy.for_platform(
        ["https://rtcpns.cn-north-1.myhuaweicloud.com:443"], ["ostor.huawei.com", ".obs.example"]
    )
    assert policy.trusted("https", "rtcpns.cn-north-1.myhuaweicloud.com", None)
    assert policy.host_allowed("ostor.huawei.com")
    assert policy.host_allowed("bucket.obs.example")
    assert not policy.host_allowed("ostor.huawei.com.evil.example")
    assert not policy.host_allowed("evilobs.example")
    with pytest.raises(AddressRefused):
        policy.check_url("gopher://ostor.huawei.com/")


def test_a_process_keeps_one_guarded_download_session_per_policy():
    # given two equal policies and another one
    platform = UrlPolicy.for_platform(["http://127.0.0.1:18080"], ["ostor.huawei.com"])
    same = UrlPolicy.for_platform(["http://127.0.0.1:18080/"], ["ostor.huawei.com"])
    other = UrlPolicy.for_platform(["http://127.0.0.1:18081"], ["ostor.huawei.com"])
    # when the process asks for their sessions
    session = pooled_session(platform)
    # then equal policies share one session (and its kept-alive connections), another has its own
    assert pooled_session(same) is session
    assert pooled_session(other) is not session
    for scheme in ("http://", "https://"):
        adapter = session.get_adapter(scheme)
        assert isinstance(adapter, GuardedAdapter)
        assert adapter.policy == platform
    assert not session.trust_env


def test_guarding_a_session_again_with_its_policy_keeps_its_connection_pool():
    policy = UrlPolicy.for_platform(["http://127.0.0.1:18080"], [])
    session = guard(requests.Session(), policy)
    adapter = session.get_adapter("http://")
    assert guard(session, policy).get_adapter("http://") is adapter
    assert guard(session, UrlPolicy()).get_adapter("http://") is not adapter
