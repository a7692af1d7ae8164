"""template.yaml, live data: the push path (rule -> queue -> function, partial batch failures, never throttled),
the pull (EventBridge Scheduler, off by default, the token from one Secrets Manager secret) and the
feed-silent alarm. Read with its CloudFormation tags, not grepped."""

import json

import pytest

from ocpi_commands_dev.emulation import template as tpl
from ocpi_commands_dev.emulation.schedules import schedules


@pytest.fixture(scope="module")
def template():
    return tpl.load_template()


def res(template, logical_id):
    return template["Resources"][logical_id]


def test_pushed_updates_go_through_a_queue_with_partial_batch_failures_and_a_dead_letter_queue(template):
    rule = res(template, "LocationFeedRule")["Properties"]
    assert rule["EventPattern"] == {"detail-type": ["Location Updated", "EVSE Status Changed"]}
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["LocationFeedQueue", "Arn"]}
    queue = res(template, "LocationFeedQueue")["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    function = res(template, "LocationFeedFunction")["Properties"]
    (event,) = function["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["MaximumBatchingWindowInSeconds"] == 0  # a status reaches decisions at once
    # Never throttled: the event source never runs more executions than are reserved for the function.
    assert function["ReservedConcurrentExecutions"] == {"Ref": "FeedConcurrency"}
    assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "FeedConcurrency"}
    # Six times the function's timeout, as AWS advises for an SQS event source.
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]


def test_the_pull_is_scheduled_only_when_configured_and_reads_one_secret(template):
    defaults = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    assert defaults["FeedPullIntervalMinutes"] == "0"
    assert not schedules(template, defaults)["FeedPullSchedule"].enabled  # off by default
    assert schedules(template, defaults)["FeedWatchSchedule"].enabled  # the watch always runs
    configured = {
        **defaults,
        "FeedPullIntervalMinutes": "15",
        "PlatformLocationsUrl": "https://cpo.platform.invalid/ocpi/2.2.1/locations",
        "PlatformTokenSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:platform-AbCdEf",
    }
    pull = schedules(template, configured)["FeedPullSchedule"]
    assert pull.enabled and pull.every_seconds == 900 and pull.input == {"task": "pull"}
    assert pull.function == "FeedScheduleFunction"

    function = res(template, "FeedScheduleFunction")["Properties"]
    variables = function["Environment"]["Variables"]
    assert variables["PLATFORM_TOKEN_SECRET_ARN"] == {"Ref": "PlatformTokenSecretArn"}
    statements = [
        s
        for policy in function["Policies"]
        if isinstance(policy, dict) and "Fn::If" in policy
        for s in (policy["Fn::If"][1].get("Statement", []) if isinstance(policy["Fn::If"][1], dict) else [])
    ]
    secret = [s for s in statements if "secretsmanager:GetSecretValue" in s["Action"]]
    assert secret == [
        {
            "Sid": "ReadThePlatformToken",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": {"Ref": "PlatformTokenSecretArn"},
        }
    ]
    everything = json.dumps(template["Resources"])
    assert everything.count("secretsmanager:GetSecretValue") == 1  # no other function may read it


def test_a_silent_feed_is_alarmed(template):
    alarm = res(template, "FeedSilentAlarm")["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("OcpiCommands", "MinutesSinceFeedUpdate")
    assert alarm["Threshold"] == {"Ref": "FeedSilenceAlarmMinutes"}
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarm["Statistic"] == "Maximum"
    watch = res(template, "FeedWatchSchedule")["Properties"]
    assert watch["ScheduleExpression"] == "rate(1 minute)" and json.loads(watch["Target"]["Input"]) == {"task": "watch"}


def test_the_stale_status_settings_reach_the_api(template):
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["EVSE_STATUS_MAX_AGE_MINUTES"] == {"Ref": "EvseStatusMaxAgeMinutes"}
    assert variables["REJECT_STALE_EVSE_STATUS"] == {"Ref": "RejectStaleEvseStatus"}
    assert template["Parameters"]["RejectStaleEvseStatus"]["Default"] == "false"
