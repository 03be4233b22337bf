"""Every operation of the API (chalicelib/openapi.json operationId -> method, path).
tests/contract checks this table against the spec; every SDK call goes through it."""
from __future__ import annotations

ROUTES: dict[str, tuple[str, str]] = {
    "health.get": ("GET", "/v1/health"),
    "openapi.get": ("GET", "/v1/openapi.json"),
    "auth.activate": ("POST", "/v1/auth/activate"),
    "auth.me": ("GET", "/v1/auth/me"),
    "auth.keys.create": ("POST", "/v1/auth/keys"),
    "auth.keys.revoke": ("DELETE", "/v1/auth/keys/{key_id}"),
    "scheduling.cron.create": ("POST", "/v1/scheduling/cron"),
    "scheduling.cron.list": ("GET", "/v1/scheduling/cron"),
    "scheduling.cron.get": ("GET", "/v1/scheduling/cron/{cron_id}"),
    "scheduling.cron.update": ("PATCH", "/v1/scheduling/cron/{cron_id}"),
    "scheduling.cron.delete": ("DELETE", "/v1/scheduling/cron/{cron_id}"),
    "scheduling.cron.pause": ("POST", "/v1/scheduling/cron/{cron_id}/pause"),
    "scheduling.cron.resume": ("POST", "/v1/scheduling/cron/{cron_id}/resume"),
    "scheduling.cron.trigger": ("POST", "/v1/scheduling/cron/{cron_id}/trigger"),
    "scheduling.cron.runs": ("GET", "/v1/scheduling/cron/{cron_id}/runs"),
    "scheduling.queue.publish": ("POST", "/v1/scheduling/queue/publish"),
    "scheduling.queue.publish_batch": ("POST", "/v1/scheduling/queue/publish-batch"),
    "scheduling.queue.list": ("GET", "/v1/scheduling/queue"),
    "scheduling.queue.put": ("PUT", "/v1/scheduling/queue/{name}"),
    "scheduling.queue.get": ("GET", "/v1/scheduling/queue/{name}"),
    "scheduling.queue.delete": ("DELETE", "/v1/scheduling/queue/{name}"),
    "scheduling.queue.messages": ("GET", "/v1/scheduling/queue/{name}/messages"),
    "scheduling.queue.message": ("GET", "/v1/scheduling/queue/messages/{message_id}"),
    "scheduling.queue.cancel": ("POST", "/v1/scheduling/queue/messages/{message_id}/cancel"),
    "scheduling.queue.retry": ("POST", "/v1/scheduling/queue/messages/{message_id}/retry"),
    "scheduling.webhook.send": ("POST", "/v1/scheduling/webhook/send"),
    "scheduling.webhook.list": ("GET", "/v1/scheduling/webhook/deliveries"),
    "scheduling.webhook.get": ("GET", "/v1/scheduling/webhook/deliveries/{delivery_id}"),
    "scheduling.webhook.retry": ("POST", "/v1/scheduling/webhook/deliveries/{delivery_id}/retry"),
    "scheduling.webhook.secret": ("GET", "/v1/scheduling/webhook/secret"),
    "scheduling.webhook.rotate_secret": ("POST", "/v1/scheduling/webhook/secret/rotate"),
    "scheduling.deliveries.list": ("GET", "/v1/scheduling/deliveries"),
    "scheduling.deliveries.replay": ("POST", "/v1/scheduling/deliveries/replay"),
    "scheduling.replays.get": ("GET", "/v1/scheduling/replays/{replay_id}"),
    "scheduling.events.put": ("PUT", "/v1/scheduling/events"),
    "scheduling.events.get": ("GET", "/v1/scheduling/events"),
    "scheduling.events.delete": ("DELETE", "/v1/scheduling/events"),
}

# Operations that need no API key.
PUBLIC = frozenset({"health.get", "openapi.get", "auth.activate"})
