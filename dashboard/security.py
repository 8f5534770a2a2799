"""The dashboard's defences: content policy, CSRF tokens, HTTP Basic credentials, safe links.

Everything shown comes from crawled pages and is untrusted. Templates autoescape it; only http
and https URLs ever become links; no page runs inline script; every form carries a signed
double-submit token; and off loopback every route but /healthz needs the analyst's credentials.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

# Plotly.js adds its own style rules at run time ('unsafe-inline' for styles only); no policy here
# allows inline or evaluated script, plugins, framing, or sending forms elsewhere.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
CSRF_COOKIE = "hypewatch_csrf"
CSRF_FIELD = "csrf_token"
LINKABLE_SCHEMES = ("http", "https")


# ---------------------------------------------------------------- CSRF (signed double submit)
def new_csrf_token(secret: bytes) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(secret, nonce)}"


def _sign(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def csrf_token_is_signed(secret: bytes, token: str | None) -> bool:
    if not token or token.count(".") != 1:
        return False
    nonce, signature = token.split(".")
    return hmac.compare_digest(signature, _sign(secret, nonce))


def csrf_tokens_match(secret: bytes, cookie_token: str | None, form_token: str | None) -> bool:
    """The form's token equals the cookie's, and the server signed it (so it cannot be planted)."""
    if not cookie_token or not form_token:
        return False
    return hmac.compare_digest(cookie_token, form_token) and csrf_token_is_signed(secret, cookie_token)


# ---------------------------------------------------------------- credentials
def basic_auth_user(header: str | None, username: str, password: str) -> str | None:
    """The user named by an `Authorization: Basic` header when its credentials match, else None."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    given_user, sep, given_password = decoded.partition(":")
    if not sep:
        return None
    user_ok = hmac.compare_digest(given_user.encode(), username.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return given_user if user_ok and password_ok else None


def is_loopback_host(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------- links
def safe_link(url: str | None) -> str | None:
    """The URL when it may become a link (http or https with a host), else None."""
    if not url:
        return None
    stripped = url.strip()
    if any(ch in stripped for ch in "\x00\r\n\t") or stripped != url:
        return None
    try:
        parts = urlsplit(stripped)
    except ValueError:
        return None
    if parts.scheme.lower() not in LINKABLE_SCHEMES or not parts.netloc:
        return None
    return stripped
