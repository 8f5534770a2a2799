"""The dashboard's defences: content policy, CSRF tokens, HTTP Basic credentials, safe links.

Everything shown comes from crawled pages and is untrusted. Templates autoescape it; only http
and https URLs ever become links; no page runs inline script; every form carries a double-submit
token signed for the signed-in user, and a form posted from another site (another port of the
same host included) is refused; and off loopback every route but /healthz needs the analyst's
credentials, with failed guesses throttled (`dashboard.throttle`).
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
# Cookies do not keep ports apart: a page served on another port of the same host can set this
# cookie, with a pair (cookie, form field) it got from the dashboard itself, say from /healthz. So
# a token is signed for the session it was issued to, the signed-in user (or the anonymous
# session of an open loopback dashboard), and is refused for any other; and a browser's form
# post from another origin, which it marks `Sec-Fetch-Site: same-site` or `cross-site`, is refused
# whatever token it carries.
def new_csrf_token(secret: bytes, user: str | None) -> str:
    """A fresh token for the session of `user` (None: not signed in)."""
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(secret, user, nonce)}"


def _sign(secret: bytes, user: str | None, nonce: str) -> str:
    session = f"user:{user}" if user is not None else "anonymous"
    return hmac.new(secret, b"csrf\x00" + session.encode() + b"\x00" + nonce.encode(), hashlib.sha256).hexdigest()


def csrf_token_is_valid(secret: bytes, user: str | None, token: str | None) -> bool:
    """The server signed `token` for the session of `user`."""
    if not token or token.count(".") != 1:
        return False
    nonce, signature = token.split(".")
    return hmac.compare_digest(signature, _sign(secret, user, nonce))


def csrf_tokens_match(secret: bytes, user: str | None, cookie_token: str | None, form_token: str | None) -> bool:
    """The form's token equals the cookie's, and the server signed it for this session (so a
    pair planted from elsewhere, made for another session, is refused)."""
    if not cookie_token or not form_token:
        return False
    return hmac.compare_digest(cookie_token, form_token) and csrf_token_is_valid(secret, user, cookie_token)


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TRUSTED_FETCH_SITES = ("same-origin", "none")  # "none": typed or bookmarked by the user


def is_cross_origin_write(method: str, fetch_site: str | None) -> bool:
    """A browser's request that changes something, sent from a page of another origin.

    Browsers send `Sec-Fetch-Site` on every request; clients that do not (curl, scripts) have no
    cookies to be abused and are left to the token check.
    """
    return method.upper() in UNSAFE_METHODS and fetch_site is not None and fetch_site.lower() not in TRUSTED_FETCH_SITES


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
