"""Where each record lives in the one table. Items are keyed by their own id (so load spreads
over partitions); the project owning them is an index key and is checked on every read."""


def project(project_id: str) -> tuple[str, str]:
    return f"PROJ#{project_id}", "PROJ"


def events_config(project_id: str) -> tuple[str, str]:
    """The project's operational-events endpoint (PUT /v1/scheduling/events)."""
    return f"PROJ#{project_id}", "EVENTS"


def api_key(key_hash: str) -> tuple[str, str]:
    return f"KEY#{key_hash}", "KEY"


def delivery(delivery_id: str) -> tuple[str, str]:
    return f"DLV#{delivery_id}", "DLV"


def payload(delivery_id: str) -> tuple[str, str]:
    """A large payload's own item, written once beside its delivery (services/delivery/payloads.split)."""
    return f"PAY#{delivery_id}", "PAY"


def batch_written(first_id: str) -> tuple[str, str]:
    """A batch's "written" marker: put once all its records are, so the deliver function waits
    for one item per batch rather than reading each record again (services/deliver/attempts.py)."""
    return f"BW#{first_id}", "BW"


def deliveries_of(project_id: str, kind: str) -> str:
    """gsi1 partition: a project's deliveries of one kind (webhook, queue:<name>, cron:<id>)."""
    return f"{project_id}#{kind}"


def deliveries_in_state(project_id: str, kind: str, state: str) -> str:
    """gsi2 partition: the same, narrowed to one state."""
    return f"{project_id}#{kind}#{state}"


def cron_job(cron_id: str) -> tuple[str, str]:
    return f"CRON#{cron_id}", "CRON"


def cron_jobs_of(project_id: str) -> str:
    """gsi1 partition: a project's cron jobs, in creation order."""
    return f"{project_id}#cronjobs"


def cron_run(cron_id: str, delivery_id: str) -> tuple[str, str]:
    """Runs share their job's partition, so a job's runs are one Query, newest first."""
    return f"CRON#{cron_id}", f"RUN#{delivery_id}"


def cron_watch(cron_id: str) -> tuple[str, str]:
    """A job's catch-up watch (only jobs with a catch-up window have one): up to when its
    scheduled times have been checked for runs that never fired."""
    return f"CRON#{cron_id}", "WATCH"


def queue(project_id: str, name: str) -> tuple[str, str]:
    return f"QUEUE#{project_id}#{name}", "QUEUE"


def queues_of(project_id: str) -> str:
    """gsi1 partition: a project's queues, by name."""
    return f"{project_id}#queues"


def queue_kind(name: str) -> str:
    """The delivery kind of a queue's messages (their gsi1/gsi2 partitions)."""
    return f"queue:{name}"


def topics_of(project_id: str) -> str:
    """Table partition: a project's topics (services/topics/topics.py), by name."""
    return f"TOPICS#{project_id}"


def event_types_of(project_id: str) -> str:
    """Table partition: a project's declared event types, by name."""
    return f"ETYPES#{project_id}"


def subscription(project_id: str, subscription_id: str) -> tuple[str, str]:
    """Where a subscription's topic is found from its id alone (the subscription itself is its
    internal queue's record: services/topics/subscriptions.py)."""
    return f"SUBS#{project_id}", subscription_id


def subscriptions_of(project_id: str) -> str:
    """gsi1 partition: a project's subscriptions (their queues' records), sorted `<topic>#<id>`."""
    return f"{project_id}#subscriptions"


def subscription_queue(topic: str, subscription_id: str) -> str:
    """The internal queue a subscription delivers through. '@' and '/' are never in a queue
    name a user can give, so it names no user's queue; `@<topic>/` prefixes a topic's kinds."""
    return f"@{topic}/{subscription_id}"


def queue_flow(project_id: str, name: str) -> tuple[str, str]:
    """A queue's limiter state (services/receivers/flow_control.py): beside its queue, in one partition."""
    return f"QUEUE#{project_id}#{name}", "FLOW"


def flow(project_id: str, key: str) -> tuple[str, str]:
    """A named flow (a flow_key shared by webhooks and cron jobs): its limits and limiter state."""
    return f"FLOW#{project_id}#{key}", "FLOW"


def endpoint(endpoint_id: str) -> tuple[str, str]:
    """A target endpoint's circuit breaker state (services/receivers/circuit_breaker.py)."""
    return f"EP#{endpoint_id}", "ENDPOINT"


def endpoints_of(project_id: str) -> str:
    """gsi1 partition: a project's endpoints that have failed at least once."""
    return f"{project_id}#endpoints"


def flows_of(project_id: str) -> str:
    """gsi1 partition: a project's named flows, by key."""
    return f"{project_id}#flows"


def oauth_token(cache_id: str) -> tuple[str, str]:
    """An OAuth2 access token shared by the deliver function's containers (services/receivers/
    endpoint_credentials.py); `cache_id` is a hash of the project, token URL and client."""
    return f"OAUTH#{cache_id}", "TOKEN"


def timer_lease(shard: int) -> tuple[str, str]:
    """The lease of the due index's shard while a timers task works it (services/repair/timers.py)."""
    return f"TIMERS#{shard}", "LEASE"


def audit_of(project_id: str) -> str:
    """Table partition: a project's audit log (services/audit/audit_log.py), sorted by time. A
    project's configuration changes are few (a partition takes 1,000 writes a second), and one
    partition makes since/until one range Query."""
    return f"AUDIT#{project_id}"


def audit_entry(project_id: str, at_ms: int, entry_id: str) -> tuple[str, str]:
    return audit_of(project_id), f"{at_ms:013d}#{entry_id}"
