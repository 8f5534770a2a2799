"""dashboard.security: CSRF tokens bound to their session, and cross-origin writes."""

from dashboard.security import csrf_token_is_valid, csrf_tokens_match, is_cross_origin_write, new_csrf_token

SECRET = b"k" * 32


def test_a_token_is_valid_only_for_the_session_it_was_made_for():
    anonymous = new_csrf_token(SECRET, None)
    ana = new_csrf_token(SECRET, "ana")
    assert csrf_token_is_valid(SECRET, None, anonymous) and csrf_token_is_valid(SECRET, "ana", ana)
    # A pair made for another session (say, fetched from /healthz without credentials) and
    # planted as cookie and form field is refused for the signed-in user, and the other way round.
    assert not csrf_tokens_match(SECRET, "ana", anonymous, anonymous)
    assert not csrf_tokens_match(SECRET, "bob", ana, ana)
    assert not csrf_tokens_match(SECRET, None, ana, ana)
    assert csrf_tokens_match(SECRET, "ana", ana, ana)


def test_writes_from_another_origin_are_told_apart():
    assert is_cross_origin_write("POST", "same-site")  # another port of the same host
    assert is_cross_origin_write("post", "cross-site")
    assert not is_cross_origin_write("POST", "same-origin")
    assert not is_cross_origin_write("POST", "none")
    assert not is_cross_origin_write("POST", None)  # not a browser: nothing of the user's to abuse
    assert not is_cross_origin_write("GET", "cross-site")  # a link from elsewhere; GET changes nothing
