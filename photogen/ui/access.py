"""Who is asking: the owner at this computer, a guest through a share link, or a Space visitor.

How a guest is told from the owner. Gradio's share tunnel (`frpc`) runs on this computer and
connects to the app from 127.0.0.1, so the client address alone cannot tell them apart. What the
tunnel cannot hide is the name the browser asked for: a visitor through the link sends
`Host: <random>.gradio.live` (the tunnel server routes on that name, so a visitor cannot send a
loopback name and still reach this app), and proxies add `X-Forwarded-*` / `Forwarded` headers.
So a request is the **owner's** only when all of these hold:

- it comes from a loopback address (127.0.0.0/8 or ::1),
- its `Host` header names this computer's loopback (`localhost`, `127.x.x.x`, `[::1]`, `0.0.0.0`),
- it carries no proxy header (`Forwarded`, `X-Forwarded-For`, `X-Forwarded-Host`, `X-Real-IP`).

Everything else is a **guest**: the share link, any other machine on the network, a web page that
rebinds its DNS name to 127.0.0.1 (its Host is its own name). In a Hugging Face Space everyone is a
**visitor**: the owner of a private, throwaway library, who may upload and delete there, but never
touch the server's files or its models.

Handlers call `require(request, Capability.X)` first: the server refuses, not only the UI.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from photogen.errors import Refusal

log = logging.getLogger(__name__)

PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip")


class Capability(StrEnum):
    """What a handler may need beyond the studio (Create, People and Library views, own creations)."""

    HOST_FILES = "use the files of this computer (folders, Takeout, OAuth client files)"
    LIBRARY = "add, revoke or delete photos"
    CONSENT = "allow or revoke albums and sources, or delete everything"
    PEOPLE = "rename, merge or move people"
    MODELS = "download, import or remove models"


class Role(StrEnum):
    OWNER = "owner"  # at this computer: every control
    GUEST = "guest"  # through a share link or another machine: the studio only
    VISITOR = "visitor"  # a Space visitor: the studio on their own private, throwaway library

    def can(self, capability: Capability) -> bool:
        if self is Role.OWNER:
            return True
        if self is Role.VISITOR:
            # their library is theirs: upload, name people, revoke, delete; never the host's files or models
            return capability in (Capability.LIBRARY, Capability.CONSENT, Capability.PEOPLE)
        return False


def space_mode_default() -> bool:
    return bool(os.environ.get("SPACE_ID"))


def _headers(request: Any) -> dict[str, str]:
    raw = getattr(request, "headers", None) or {}
    items = raw.items() if isinstance(raw, Mapping) or hasattr(raw, "items") else []
    return {str(k).lower(): str(v) for k, v in items}


def _client_host(request: Any) -> str:
    client = getattr(request, "client", None)
    if client is None:
        return ""
    host = getattr(client, "host", None)
    if host is None and isinstance(client, Mapping):
        host = client.get("host")
    return str(host or "")


def _is_loopback_address(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower().startswith("::ffff:"):
        host = host[7:]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """'127.0.0.1:7860' -> '127.0.0.1', '[::1]:7860' -> '::1', 'localhost' -> 'localhost'."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else ""
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _is_loopback_name(host_header: str) -> bool:
    name = _host_name(host_header)
    # 0.0.0.0 reaches this computer only from itself (browsers open it as loopback); no tunnel routes it
    return name in ("localhost", "localhost.", "0.0.0.0") or _is_loopback_address(name)


def role_of(request: Any, *, space_mode: bool | None = None) -> Role:
    """The role of whoever sent `request` (a `gr.Request` or a Starlette request).

    No request at all (a direct Python call, the CLI) is the owner: only code on this computer can
    make one. In Space mode everyone is a visitor.
    """
    if space_mode if space_mode is not None else space_mode_default():
        return Role.VISITOR
    if request is None:
        return Role.OWNER
    headers = _headers(request)
    if any(h in headers for h in PROXY_HEADERS):
        return Role.GUEST
    if not _is_loopback_address(_client_host(request)):
        return Role.GUEST
    if not _is_loopback_name(headers.get("host", "")):
        return Role.GUEST
    return Role.OWNER


def is_owner(request: Any, *, space_mode: bool | None = None) -> bool:
    """True for the owner at this computer; False for a share-link guest, another machine or a Space visitor."""
    return role_of(request, space_mode=space_mode) is Role.OWNER


class NotAllowed(Refusal):
    """A guest asked for something only the owner may do."""


def require(request: Any, capability: Capability, *, space_mode: bool | None = None) -> Role:
    """Refuse, with a readable message, unless the caller may `capability`; returns the caller's role."""
    role = role_of(request, space_mode=space_mode)
    if not role.can(capability):
        log.warning("refused a %s the right to %s", role.value, capability.name.lower())
        where = "in this shared Space" if role is Role.VISITOR else "through a shared link"
        raise NotAllowed(f"Only the owner, at this computer, can {capability.value}; that is not possible {where}.")
    return role
