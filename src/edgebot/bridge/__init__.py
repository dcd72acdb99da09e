"""The WordPress bridge's side in edgebot: signed server-to-server requests (HMAC, clock skew, replayed
nonces), the user and visitor claims they carry, and content sync from WordPress."""

from edgebot.bridge.signing import BridgeClaims, SignatureError, canonical, sign, verify

__all__ = ["BridgeClaims", "SignatureError", "canonical", "sign", "verify"]
