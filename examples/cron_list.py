from infrai import infra
for j in infra.cron.list().get("items", []):
    print(j.get("cron_id"), j.get("schedule"), "next:", j.get("next_run_at"))
