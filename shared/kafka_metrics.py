"""Kafka messages this process publishes, by topic (without the deployment's prefix), so an
operator sees each service's share of the broker's traffic and the cost benchmark counts the
messages a task costs. Consumer lag is in shared/consumer_lag.py."""
from prometheus_client import Counter

MESSAGES_PUBLISHED = Counter("custompass_kafka_messages_published_total",
                             "Events the broker accepted from this process", ["topic"])
PUBLISH_FAILURES = Counter("custompass_kafka_publish_failures_total",
                           "Events the broker did not take within the publish timeout", ["topic"])
