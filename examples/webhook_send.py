from infrai import infra
d = infra.webhook.send("https://api.example.com/hooks/order",
                       {"order_id": "ord_42", "status": "paid"})
print("delivery:", d.get("delivery_id"), "| state:", d.get("state"))
