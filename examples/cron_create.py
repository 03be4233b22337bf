from infrai import infra
job = infra.cron.create(
    "0 9 * * *",            # every day at 09:00
    "send-daily-digest",
    name="daily-digest",
    timezone="UTC",
    payload={"segment": "active-users"},
)
print("cron_id:", job.get("id") or job.get("cron_id"))
