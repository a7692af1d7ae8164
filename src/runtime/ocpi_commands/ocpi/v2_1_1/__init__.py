"""OCPI 2.1.1: what it puts on the wire for the Commands and Versions modules, mapped to the domain.

The differences from 2.2.1 (digest, section 5), all in this package: no CANCEL_RESERVATION; the
2.1.1 Token (``auth_id``, no owner: the owner is the party behind the credentials); ``location_id`` and
``evse_uid`` string(39), case-sensitive; ``reservation_id`` an int; no ``authorization_reference``
and no StartSession ``connector_id``; the synchronous answer ``CommandResponse{result}`` and the
same object POSTed to ``response_url``, with ``TIMEOUT`` among its values; ASCII strings; DateTimes
without fractional seconds; version details without roles.
"""
