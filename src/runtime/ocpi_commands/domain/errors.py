"""Errors that have an OCPI answer. One place (``api.transport.error_response``) turns each into an envelope."""


class OcpiError(Exception):
    """Base of every error that has an OCPI answer."""

    http_status = 200
    status_code = 2000

    def __init__(self, message: str, data: object = None):
        super().__init__(message)
        self.message = message
        # ``data`` of the envelope, when the answer has one (a REJECTED CommandResponse, say).
        self.data = data


class Unauthorized(OcpiError):
    """Missing, malformed or unknown credentials token (HTTP 401)."""

    http_status = 401
    status_code = 2000


class NotJson(OcpiError):
    """The body is not valid JSON (HTTP 400)."""

    http_status = 400
    status_code = 2001


class InvalidHeader(OcpiError):
    """A transport header the request cannot be answered with (HTTP 400, 2001), e.g. an overlong X-Request-ID."""

    http_status = 400
    status_code = 2001


class BodyTooLarge(OcpiError):
    """The body is above the configured limit (HTTP 413)."""

    http_status = 413
    status_code = 2001


class InvalidParameters(OcpiError):
    """Valid JSON that does not satisfy the schema or the rules (HTTP 200, 2001)."""

    http_status = 200
    status_code = 2001


class NotAddressedToUs(OcpiError):
    """OCPI-to-* name a party this platform is not (HTTP 200, 2001): refused before anything else."""

    http_status = 200
    status_code = 2001


class OtherVersion(OcpiError):
    """The party speaks another OCPI version with this platform than the endpoint it called (HTTP 200, 2000)."""

    http_status = 200
    status_code = 2000


class MethodNotAllowed(OcpiError):
    http_status = 405
    status_code = 2000

    def __init__(self, message: str, allow: str = "POST"):
        super().__init__(message)
        self.allow = allow


class NotFound(OcpiError):
    http_status = 404
    status_code = 2000


class TemporarilyUnavailable(OcpiError):
    """A dependency failed; nothing was accepted (HTTP 200, 3000, as the request reached the OCPI layer)."""

    http_status = 200
    status_code = 3000
