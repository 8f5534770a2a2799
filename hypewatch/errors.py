"""Errors the CLI reports to the user as one line and a non-zero exit."""

SHOWN_CHARS = 200


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """`text` as a message shows it: a hostile 10,000-character URL is cut in the middle."""
    if len(text) <= limit:
        return text
    tail = limit // 4
    return f"{text[: limit - tail - 1]}…{text[-tail:]}"


class HypewatchError(Exception):
    """Base class of errors that are the user's to fix, not bugs."""

    exit_code = 2


class ConfigError(HypewatchError):
    """A setting or configuration file is invalid."""


class TargetError(HypewatchError):
    """One `check` target could not be fetched, read or extracted."""

    def __init__(self, target: str, reason: str):
        super().__init__(f"{clip(target)}: {reason}")
        self.target = target
        self.reason = reason


class DistributedError(HypewatchError):
    """The shared crawl frontier (Redis, HYPEWATCH_REDIS_URL) cannot be used."""
