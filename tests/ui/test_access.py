"""Who is the owner: loopback client, loopback Host, no proxy header; everyone else is a guest."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest

from photogen.errors import PhotogenError
from photogen.ui.access import Capability, NotAllowed, Role, is_owner, require, role_of


def request(host: str = "127.0.0.1:7860", client: str = "127.0.0.1", **headers: str) -> gr.Request:
    return gr.Request(headers={"host": host, **{k.replace("_", "-"): v for k, v in headers.items()}}, client={"host": client, "port": 5})


@pytest.mark.parametrize("host", ["127.0.0.1:7860", "localhost:7860", "LOCALHOST", "[::1]:7860", "127.0.0.2", "0.0.0.0:7860"])
def test_the_owner_is_a_loopback_browser_asking_for_a_loopback_name(host: str) -> None:
    assert role_of(request(host), space_mode=False) is Role.OWNER
    assert is_owner(request(host), space_mode=False)


@pytest.mark.parametrize(
    ("what", "req"),
    [
        ("the share tunnel: frpc connects from loopback, the Host is the link's", request("abc123.gradio.live")),
        ("another machine on the network", request("192.168.1.5:7860", client="192.168.1.7")),
        ("a remote client sending a loopback Host", request("127.0.0.1:7860", client="203.0.113.9")),
        ("a proxy in front", request("127.0.0.1:7860", x_forwarded_for="203.0.113.9")),
        ("a proxy saying Forwarded", request("localhost", forwarded="for=203.0.113.9")),
        ("a page rebinding its DNS name to 127.0.0.1", request("evil.example:7860")),
        ("no Host at all", gr.Request(headers={}, client={"host": "127.0.0.1", "port": 1})),
        ("a loopback lookalike name", request("127.0.0.1.nip.io")),
    ],
)
def test_everyone_else_is_a_guest(what: str, req: Any) -> None:
    assert role_of(req, space_mode=False) is Role.GUEST, what
    with pytest.raises(NotAllowed, match="Only the owner"):
        require(req, Capability.CONSENT, space_mode=False)


def test_a_starlette_style_request_works_too() -> None:
    owner = SimpleNamespace(headers={"Host": "localhost:7860"}, client=SimpleNamespace(host="::1"))
    assert role_of(owner, space_mode=False) is Role.OWNER


def test_guests_may_use_the_studio_only() -> None:
    assert not any(Role.GUEST.can(c) for c in Capability)
    assert all(Role.OWNER.can(c) for c in Capability)


def test_space_visitors_own_their_private_library_but_not_the_host() -> None:
    visitor = role_of(request(), space_mode=True)
    assert visitor is Role.VISITOR and not is_owner(request(), space_mode=True)
    assert require(request(), Capability.LIBRARY, space_mode=True) is Role.VISITOR
    for capability in (Capability.HOST_FILES, Capability.MODELS):
        with pytest.raises(PhotogenError, match="shared Space"):
            require(request(), capability, space_mode=True)


def test_space_mode_follows_space_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPACE_ID", "someone/photogen")
    assert role_of(request()) is Role.VISITOR
    monkeypatch.delenv("SPACE_ID")
    assert role_of(request()) is Role.OWNER


def test_a_direct_call_without_a_request_is_the_owner() -> None:
    assert role_of(None, space_mode=False) is Role.OWNER
