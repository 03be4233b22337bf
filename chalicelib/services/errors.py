"""Errors of the services layer that are about our dependencies, not the request."""
from ..core.errors import InfraiError


class ServiceUnavailable(InfraiError):
    status = 503
    code = "unavailable"
