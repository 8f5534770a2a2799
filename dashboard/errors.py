"""Dashboard errors; `dashboard.app` renders all of them in one place (HTML or JSON)."""


class DashboardError(Exception):
    """An error the dashboard shows to the analyst with a status code."""

    status_code = 500
    title = "Something went wrong"


class BadRequest(DashboardError):
    status_code = 400
    title = "Bad request"


class NotFound(DashboardError):
    status_code = 404
    title = "Not found"


class Forbidden(DashboardError):
    status_code = 403
    title = "Forbidden"
