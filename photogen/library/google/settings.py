"""Where photogen reaches Google, and how patiently. Every knob can be set with `PHOTOGEN_GOOGLE_*`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PICKER_SCOPE = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly"


class GoogleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOTOGEN_GOOGLE_", extra="ignore")

    picker_api: str = Field(default="https://photospicker.googleapis.com", description="Photos Picker API base URL.")
    token_uri: str = Field(default="https://oauth2.googleapis.com/token", description="OAuth token endpoint (refresh).")
    revoke_uri: str = Field(default="https://oauth2.googleapis.com/revoke", description="OAuth revocation endpoint.")
    client_file: Path | None = Field(default=None, description="The user's OAuth client file (Desktop app).")
    http_timeout_s: float = 30.0
    # 429 and 5xx are retried with exponential backoff, this many tries in all
    max_attempts: int = 5
    backoff_s: float = 1.0
    backoff_max_s: float = 32.0
    # never wait for a pick longer than this, whatever the session's timeoutIn says
    max_wait_s: float = 1800.0
    page_size: int = 100
    max_download_bytes: int = 512 * 1024 * 1024
    oauth_timeout_s: int = 300
