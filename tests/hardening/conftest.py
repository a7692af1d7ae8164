"""Hypothesis profiles: a fast default for `make test`, a thorough one for `make fuzz`."""

import os

from hypothesis import HealthCheck, settings

COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("default", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), **COMMON)
settings.register_profile("thorough", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "5000")), **COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
