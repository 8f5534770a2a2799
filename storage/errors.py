"""Storage errors."""


class StorageError(Exception):
    """A database operation failed in a way the caller can report."""


class DatabaseUrlError(StorageError):
    """The database URL cannot be used: not a URL, an unknown kind of database, or no driver for it."""


class MigrationError(StorageError):
    """The database schema could not be brought up to date."""


class NotFound(StorageError):
    """A requested row does not exist."""
