"""The template's alarms and dashboard (read as YAML with its CloudFormation tags, not grepped)."""

import json
import re

import pytest

from ocpi_commands_dev.emulation import template as tpl

CUSTOM_METRICS = {
    "CommandsReceived",
    "CommandResults",
    "ResultsRecorded",
    "Timeouts",
    "LateResults",
    "ResultsAtDeadline",
    "TimeToResult",
    "DeliveryAttempts",
    "DeliveryRetries",
    "DeliveryFailures",
    "ColdStart",
}


@pytest.fixture(scope="module")
def template():
    return tpl.load_template()


def alarms(template):
    return tpl.resources_of_type(template, "AWS::CloudWatch::Alarm")


def metric_names(alarm):
    props = alarm["Properties"]
    if "MetricName" in props:
        return {(props["Namespace"], props["MetricName"])}
    return {
        (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"])
        for m in props["Metrics"]
        if "MetricStat" in m
    }


def test_every_alarm_notifies_the_topic_parameter(template):
    assert "AlarmTopicArn" in template["Parameters"]
    for name, alarm in alarms(template).items():
        props = alarm["Properties"]
        for key in ("AlarmActions", "OKActions"):
            assert props[key] == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}, (
                name
            )
        assert props["TreatMissingData"] == "notBreaching", name
        assert props.get("AlarmDescription"), name


def test_the_required_alarms_exist(template):
    watched = set().union(*(metric_names(a) for a in alarms(template).values()))
    assert ("AWS/ApiGateway", "5XXError") in watched
    assert {("AWS/States", "ExecutionsFailed"), ("AWS/States", "ExecutionsTimedOut")} <= watched
    assert ("OcpiCommands", "DeliveryFailures") in watched
    assert {("OcpiCommands", "Timeouts"), ("OcpiCommands", "ResultsRecorded")} <= watched
    assert {("AWS/DynamoDB", "ReadThrottleEvents"), ("AWS/DynamoDB", "WriteThrottleEvents")} <= watched
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in watched


def test_errors_and_throttles_alarmed_per_function(template):
    per_function = {}
    for alarm in alarms(template).values():
        props = alarm["Properties"]
        if props.get("Namespace") == "AWS/Lambda" and props["MetricName"] in ("Errors", "Throttles"):
            [dimension] = props["Dimensions"]
            per_function.setdefault(dimension["Value"]["Ref"], set()).add(props["MetricName"])
    functions = set(tpl.resources_of_type(template, "AWS::Serverless::Function"))
    assert set(per_function) == functions
    assert all(metrics == {"Errors", "Throttles"} for metrics in per_function.values())


def test_function_alarms_are_uniform(template):
    """The per-function Errors/Throttles alarms differ only in the function, name and description."""
    functions = tpl.resources_of_type(template, "AWS::Serverless::Function")
    shapes = {}
    for logical_id, alarm in alarms(template).items():
        props = alarm["Properties"]
        if props.get("Namespace") != "AWS/Lambda" or props["MetricName"] not in ("Errors", "Throttles"):
            continue
        [dimension] = props["Dimensions"]
        function = dimension["Value"]["Ref"]
        assert alarm.get("Condition") == functions[function].get("Condition"), logical_id
        kind = "errors" if props["MetricName"] == "Errors" else "throttles"
        assert re.fullmatch(rf"\$\{{AWS::StackName\}}-[a-z][a-z-]*-{kind}", props["AlarmName"]["Fn::Sub"]), logical_id
        verb = "failed." if kind == "errors" else "was throttled."
        assert props["AlarmDescription"].endswith(f"function {verb}"), logical_id
        rest = {k: v for k, v in props.items() if k not in ("AlarmName", "AlarmDescription", "Dimensions")}
        shapes.setdefault(props["MetricName"], []).append(json.dumps(rest, sort_keys=True))
    assert set(shapes) == {"Errors", "Throttles"}
    for metric, found in shapes.items():
        assert len(set(found)) == 1, f"{metric} alarms differ: {sorted(set(found))}"


def test_timeout_ratio_alarm_is_a_percentage_with_a_minimum_sample(template):
    props = tpl.resource(template, "TimeoutRatioAlarm")["Properties"]
    [expression] = [m["Expression"] for m in props["Metrics"] if "Expression" in m]
    assert "results >= 10" in expression and "100 * timeouts / results" in expression
    assert props["Threshold"] == {"Ref": "TimeoutRatioThresholdPercent"}


def test_custom_alarm_dimensions_match_what_the_code_emits(template):
    """Alarms on custom metrics use only the service dimension: the code emits those metrics without others."""
    for alarm in alarms(template).values():
        props = alarm["Properties"]
        stats = (
            [props]
            if "MetricName" in props
            else [m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m]
        )
        for stat in stats:
            if stat["Namespace"] == "OcpiCommands":
                assert stat["Dimensions"] == [{"Name": "service", "Value": "ocpi-commands"}]


def dashboard_body(template):
    sub = tpl.resource(template, "Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    return json.loads(re.sub(r"\$\{[^}]+\}", "x", sub))


def test_dashboard_shows_every_custom_metric_and_a_command_log_query(template):
    body = dashboard_body(template)
    text = json.dumps(body)
    for name in CUSTOM_METRICS:
        assert name in text, name
    [log] = [w for w in body["widgets"] if w["type"] == "log"]
    query = log["properties"]["query"]
    assert "command_id" in query and "correlation_id" in query
    for group in ("api", "starter", "dispatch", "charge-point-events", "resolve"):
        assert f"-{group}'" in query


def test_dashboard_url_is_an_output(template):
    value = template["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
    assert "#dashboards:name=${Dashboard}" in value


def test_tracing_is_on_for_api_functions_and_state_machine(template):
    assert tpl.resource(template, "OcpiApi")["Properties"]["TracingEnabled"] is True
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    assert tpl.resource(template, "CommandLifecycle")["Properties"]["Tracing"] == {"Enabled": True}
