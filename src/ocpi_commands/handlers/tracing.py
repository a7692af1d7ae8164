"""X-Ray tracing for the lifecycle functions (not the API function).

Powertools' ``Tracer`` imports the X-Ray SDK and patches the libraries it finds: ~14 ms of cold start
in the deployment package with tracing on (3 ms disabled), and ~150 ms in a development virtualenv
where ``patch_all`` also imports ``requests`` and the like (bench/README.md). The lifecycle functions
are asynchronous, so they pay it once per cold start and get subsegments for every AWS call and for
the POST to the eMSP. The synchronous API function does not import it (it would take its cold start
from 1.17x to about 1.22x the floor): its traces come from API Gateway and Lambda's Active tracing.
"""

from aws_lambda_powertools import Tracer

# No response capture: handler results may carry command details that belong in logs, not traces.
tracer = Tracer()


def traced(handler):  # type: ignore[no-untyped-def]
    return tracer.capture_lambda_handler(handler, capture_response=False)
