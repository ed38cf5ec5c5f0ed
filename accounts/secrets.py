"""Bearer secrets (user API tokens, runner tokens): generated here, stored only as a digest.

A token is a prefix naming its kind plus 32 random bytes. SHA-256 of a 256-bit random value
needs no salt or slow hash: it cannot be brute-forced, and a digest lookup stays one indexed query.
"""

import hashlib
import secrets

USER_TOKEN_PREFIX = "nwu_"
RUNNER_TOKEN_PREFIX = "nwr_"


def secret_new(prefix: str) -> tuple[str, str]:
    """Returns (plaintext shown once, digest to store)."""
    plaintext = prefix + secrets.token_urlsafe(32)
    return plaintext, secret_digest(plaintext)


def secret_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()
