"""The OCPI HTTP interface: transport rules (headers, envelope, body decoding) and the routes."""
