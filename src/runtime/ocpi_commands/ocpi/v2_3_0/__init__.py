"""OCPI 2.3.0: the Commands module as 2.2.1, with its OpenEnums.

For the Commands module the normative change is that ``CommandType`` is an OpenEnum (an unknown
command is NOT_SUPPORTED, not an error); the objects it carries follow 2.3.0's other OpenEnums
(``TokenType``, with ``EMAID`` among the known values, is passed on whatever its value). Payloads are
never rejected for undocumented fields (every model ignores them). Everything else is 2.2.1's.
"""
