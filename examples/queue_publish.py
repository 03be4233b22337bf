from infrai import infra
msg = infra.queue.publish(
    "send-daily-digest",
    {"user_id": "u_123", "kind": "manual-trigger"},
    delay_seconds=0,
)
print("message_id:", msg.get("message_id") or msg.get("id"))
