"""shared/topics.py: one list of topic names for code and deployment, optionally prefixed."""
from __future__ import annotations

from shared import topics


def test_every_topic_named_here_is_listed_once_so_deployment_creates_it():
    named = {value for name, value in vars(topics).items() if name.isupper() and isinstance(value, str)}
    assert set(topics.ALL_TOPICS) == named and len(topics.ALL_TOPICS) == len(named)


def test_billing_replies_are_topics_of_their_own():
    assert set(topics.BILLING_REPLY_TOPICS) <= set(topics.ALL_TOPICS)
    assert topics.HOLD_REQUESTED not in topics.BILLING_REPLY_TOPICS  # a request is not an answer


def test_a_prefix_qualifies_a_name_and_no_prefix_leaves_it():
    assert topics.qualified(topics.TASK_SUBMITTED, "staging.") == "staging.task.submitted"
    assert topics.qualified(topics.TASK_SUBMITTED, "") == "task.submitted"
