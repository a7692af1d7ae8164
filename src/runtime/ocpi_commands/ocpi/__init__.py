"""OCPI 2.2.1 protocol objects: pure pydantic models, no I/O."""
