"""API keys with scopes, hashed at rest."""

from edgebot.keys.store import SCOPES, ApiKey, KeyStore

__all__ = ["SCOPES", "ApiKey", "KeyStore"]
