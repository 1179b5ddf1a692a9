"""Password hashing with Argon2id.

Hashing takes ~50 ms of CPU and 64 MB by design: on a native thread (argon2 releases the GIL), so a
log-in does not stop every chat on the service's loop meanwhile.
"""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from handoff.realtime import off_the_loop

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return off_the_loop(_hasher.hash, password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return off_the_loop(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
