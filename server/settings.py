"""Server settings: one frozen object, read once at start-up from the data folder's
config file and the environment.

Every setting is a row of `SETTINGS` (name, default, help); the config file
``DIR/tovholder.toml`` sets any of them by name and the environment variable
``TOVHOLDER_<NAME>`` overrides the file. Secrets never live in the file: the
key-encryption key is a file of its own (mode 0600) or ``TOVHOLDER_KEK``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from core.archive import public_key_from_setting
from core.errors import ConfigurationError

CONFIG_FILE = "tovholder.toml"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database_url",
        "",
        "where the log lives: sqlite:///FILE (default DIR/log.db) or postgresql://...",
    ),
    Setting(
        "kek_file",
        "kek.key",
        "file holding the key-encryption key (64 hex digits), relative to DIR",
    ),
    Setting(
        "server_key_file",
        "server.key",
        "file holding the server's own device keys, relative to DIR",
    ),
    Setting(
        "head_key_file",
        "head.key",
        "file holding the Ed25519 key that signs the log's tree heads (64 hex digits), relative to DIR; "
        "made on first start",
    ),
    Setting("head_interval_seconds", 5, "most seconds between signed tree heads while the log grows"),
    Setting("host", "127.0.0.1", "address to listen on; plain HTTP only on a loopback address"),
    Setting("port", 8000, "TCP port to listen on"),
    Setting("cert", "", "TLS certificate chain (PEM); with `key`, the server speaks HTTPS"),
    Setting("key", "", "TLS private key (PEM) for `cert`"),
    Setting(
        "ca_cert",
        "",
        "certificate authority (PEM) handed to laptops at enrollment; defaults to `cert`",
    ),
    Setting("max_body_bytes", 16 * 1024 * 1024, "largest request body accepted (413 beyond)"),
    Setting("max_batch", 5000, "most events in one pushed batch"),
    Setting("max_page", 5000, "most events in one pulled page"),
    Setting("clock_skew_seconds", 300, "how far a device's request time may differ from the server's"),
    Setting("enrollment_ttl_seconds", 7 * 24 * 3600, "how long a one-time enrollment code stays valid"),
    Setting(
        "token_lifetime_seconds",
        12 * 3600,
        "how long a staff or admin token is valid after it was issued (`admin worker token` issues a fresh one)",
    ),
    Setting(
        "cache_mib",
        256,
        "MiB of decrypted cases, judged views and compressed answers one server process keeps in memory at "
        "most (estimated; shared among its caches as `CACHE_SHARES` says); the process's memory is this "
        "plus about 80 MiB",
    ),
    Setting("log_level", "info", "uvicorn log level: critical, error, warning, info, debug"),
    Setting(
        "access_log_days",
        183,
        "days an access-log entry is kept before it is purged (rule 8: six months)",
    ),
    Setting(
        "retention_years_citizen",
        5,
        "years a closed citizen case is kept before it is due for erasure",
    ),
    Setting(
        "retention_years_family",
        5,
        "years a closed family case is kept before it is due for erasure",
    ),
    Setting(
        "archive_public_key",
        "",
        "the archive authority's X25519 public key that erasure archives are sealed for: base64 of its "
        "32 bytes or a PEM file (relative to DIR); erasure refuses without it "
        "(`tovholder admin archive keygen` makes a key pair)",
    ),
)

#: Each per-process cache's share of `cache_mib`: decrypted cases for reading and pulls
#: (`core.case_cache`), for judging pushes (`server.syncing.push`), judged views as JSON
#: (`server.view_cache`), their compressed forms (`server.compression`), and the folded
#: index states of the case index and of the caseload (`core.case_index.IndexFolds`).
CACHE_SHARES: dict[str, float] = {
    "cases": 0.40,
    "push": 0.20,
    "views": 0.15,
    "compressed": 0.15,
    "index": 0.05,
    "caseload": 0.05,
}

#: Case kinds with a retention period of their own: setting ``retention_years_<kind>``.
CASE_KINDS = ("citizen", "family")


@dataclass(frozen=True)
class Settings:
    """The settings of one server data folder."""

    data_dir: Path
    database_url: str
    kek_file: str
    server_key_file: str
    head_key_file: str
    head_interval_seconds: int
    host: str
    port: int
    cert: str
    key: str
    ca_cert: str
    max_body_bytes: int
    max_batch: int
    max_page: int
    clock_skew_seconds: int
    enrollment_ttl_seconds: int
    token_lifetime_seconds: int
    cache_mib: int
    log_level: str
    access_log_days: int
    retention_years_citizen: int
    retention_years_family: int
    archive_public_key: str

    @property
    def retention_years(self) -> dict[str, int]:
        """Years after closing that a case is kept, by case kind (`core.retention`)."""
        return {kind: int(getattr(self, f"retention_years_{kind}")) for kind in CASE_KINDS}

    def archive_key(self) -> X25519PublicKey | None:
        """The archive authority's public key, or None when none is configured;
        ConfigurationError when the setting names no usable X25519 public key."""
        if not self.archive_public_key.strip():
            return None
        return public_key_from_setting(self.archive_public_key, self.data_dir)

    def cache_bytes(self, cache: str) -> int:
        """The byte budget of one cache (a key of `CACHE_SHARES`)."""
        return int(self.cache_mib * 1024 * 1024 * CACHE_SHARES[cache])

    def path(self, name: str) -> Path:
        """A file named in the settings, relative to the data folder unless absolute."""
        p = Path(name)
        return p if p.is_absolute() else self.data_dir / p


def load(data_dir: Path | str, environ: Mapping[str, str] | None = None) -> Settings:
    """Read DIR/tovholder.toml and TOVHOLDER_* variables; ConfigurationError when unusable."""
    data_dir = Path(data_dir).resolve()
    env = os.environ if environ is None else environ
    config = data_dir / CONFIG_FILE
    if not config.is_file():
        raise ConfigurationError(
            f"{data_dir} is not a server data folder (no {CONFIG_FILE}); run `tovholder server init` first"
        )
    try:
        values: dict[str, Any] = tomllib.loads(config.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{config} is not valid TOML: {exc}") from exc
    known = {s.name: s for s in SETTINGS}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigurationError(f"{config} names unknown settings: {', '.join(unknown)}")
    resolved: dict[str, Any] = {}
    for s in SETTINGS:
        value = values.get(s.name, s.default)
        raw = env.get("TOVHOLDER_" + s.name.upper())
        if raw is not None:
            value = raw
        if isinstance(s.default, int):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ConfigurationError(f"setting {s.name} must be a whole number") from None
            if value < 0:
                raise ConfigurationError(f"setting {s.name} cannot be negative")
        elif not isinstance(value, str):
            raise ConfigurationError(f"setting {s.name} must be text")
        resolved[s.name] = value
    if not resolved["database_url"]:
        resolved["database_url"] = f"sqlite:///{data_dir / 'log.db'}"
    if bool(resolved["cert"]) != bool(resolved["key"]):
        raise ConfigurationError("TLS needs both a certificate (cert) and its key (key)")
    return Settings(data_dir=data_dir, **resolved)


def write_config(data_dir: Path, values: Mapping[str, Any]) -> None:
    """Write the config file with the given settings (names must be in SETTINGS)."""
    known = {f.name for f in fields(Settings)}
    lines = ["# Tovholder server settings; TOVHOLDER_<NAME> environment variables override them."]
    for s in SETTINGS:
        lines.append(f"# {s.name}: {s.help}")
        if s.name in values and s.name in known:
            v = values[s.name]
            lines.append(f"{s.name} = {v}" if isinstance(v, int) else f"{s.name} = {_toml_str(str(v))}")
    (data_dir / CONFIG_FILE).write_text("\n".join(lines) + "\n")


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
