"""`infrai topics`: topics, their subscriptions, and publishing (docs/topics.md)."""
from __future__ import annotations

import json
from typing import Optional

import click

from ._base import (Column, Ctx, command, console, emit, fit_table, flat, kv_table, main, more,
                    output_option, print_table, say, styled, wants_wide)


@click.group(help="Topics: publish once, deliver to every matching subscription.")
def topics() -> None:
    pass


main.add_command(topics)


@command(topics, "ls", help="List topics with their subscription counts.")
@click.option("--limit", type=click.IntRange(1, 100), default=20)
@click.option("--cursor")
@output_option
def topics_ls(ctx: Ctx, limit: int, cursor: Optional[str], output: str) -> None:
    wide = wants_wide(ctx, output)

    def render(p):
        print_table(fit_table([Column("name", 0, True), Column("subscriptions", 0), Column("description", 2)],
                              [[t["name"], t["subscriptions"], t.get("description") or ""] for t in p["items"]], wide=wide))
        more(p)
    emit(ctx, ctx.client.topics.list(limit=limit, cursor=cursor), render)


@command(topics, "put", help="Create a topic (or change its description).")
@click.argument("name")
@click.option("--description")
def topics_put(ctx: Ctx, name: str, description: Optional[str]) -> None:
    t = ctx.client.topics.put(name, **({"description": description} if description is not None else {}))
    emit(ctx, t, lambda r: console.print(kv_table(r, r["name"])))


@command(topics, "publish", help="Publish an event: one delivery per matching subscription.")
@click.argument("name")
@click.argument("event_type")
@click.option("--payload", default="{}", show_default=True, help="A JSON object.")
@click.option("--delay-seconds", type=int)
@click.option("--idempotency-key")
def topics_publish(ctx: Ctx, name: str, event_type: str, payload: str, delay_seconds: Optional[int],
                   idempotency_key: Optional[str]) -> None:
    try:
        body = json.loads(payload)
    except ValueError as e:
        raise click.BadParameter(f"not JSON: {e}", param_hint="--payload")
    r = ctx.client.topics.publish(name, event_type, body, delay_seconds=delay_seconds, idempotency_key=idempotency_key)

    def render(res):
        console.print(say("published ", res["message_id"], f": {res['matched']} subscription(s) matched"))
        print_table(fit_table([Column("delivery", 0, True), Column("subscription", 0, True), Column("state", 0)],
                              [[d["delivery_id"], d["subscription_id"], styled(d["state"])] for d in res["deliveries"]]))
    emit(ctx, r, render)


@command(topics, "subscribe", help="Subscribe an HTTP endpoint to a topic, or an SQS queue or EventBridge bus "
                                    "of your AWS account by its ARN.")
@click.argument("name")
@click.argument("url")
@click.option("--role-arn", help="With a queue or bus ARN: the role to assume for the send (another account).")
@click.option("--event-type", "event_types", multiple=True, help="Repeat for several; none: every type.")
@click.option("--filter", "filter_", help='An EventBridge event pattern (JSON), e.g. \'{"amount": [{"numeric": [">", 100]}]}\'.')
@click.option("--retries", type=click.IntRange(0, 20))
@click.option("--description")
def topics_subscribe(ctx: Ctx, name: str, url: str, role_arn: Optional[str], event_types: tuple,
                     filter_: Optional[str], retries: Optional[int], description: Optional[str]) -> None:
    try:
        pattern = json.loads(filter_) if filter_ is not None else None
    except ValueError as e:
        raise click.BadParameter(f"not JSON: {e}", param_hint="--filter")
    destination = None
    if url.startswith("arn:"):   # arn:aws:sqs:… or arn:aws:events:…: a destination in your account
        kind = "eventbridge" if url.split(":")[2:3] == ["events"] else "sqs"
        destination = {"type": kind, "arn": url, **({"role_arn": role_arn} if role_arn else {})}
    elif role_arn:
        raise click.BadParameter("only with a queue or bus ARN", param_hint="--role-arn")
    s = ctx.client.topics.subscribe(name, None if destination else url, destination=destination, event_types=list(event_types) or None, filter=pattern,
                                    retries=retries, description=description)
    _show_subscription(ctx, s)


def _show_subscription(ctx: Ctx, s: dict) -> None:
    emit(ctx, s, lambda r: console.print(kv_table(
        {**flat(r, "auth", "headers", "destination"), "event_types": ",".join(r["event_types"]) if r.get("event_types") else "all",
         "filter": json.dumps(r["filter"]) if r.get("filter") else "-"}, r["subscription_id"])))


@command(topics, "update", help="Change a subscription's target: an HTTP endpoint (--url), or an SQS queue or "
                                 "EventBridge bus of your AWS account (--destination ARN); one replaces the other.")
@click.argument("subscription_id")
@click.option("--url", help="The HTTP(S) endpoint to deliver to from now on.")
@click.option("--destination", metavar="ARN", help="arn:aws:sqs:<region>:<account>:<queue> or "
                                                  "arn:aws:events:<region>:<account>:event-bus/<bus>.")
@click.option("--role-arn", help="With --destination: the role to assume for the send (another account).")
def topics_update(ctx: Ctx, subscription_id: str, url: Optional[str], destination: Optional[str],
                  role_arn: Optional[str]) -> None:
    if url is not None and destination is not None:
        raise click.UsageError("give either --url or --destination, not both (one replaces the other)")
    if url is None and destination is None:
        raise click.UsageError("give --url URL or --destination ARN")
    if role_arn and destination is None:
        raise click.BadParameter("only with --destination", param_hint="--role-arn")
    if destination is None:
        _show_subscription(ctx, ctx.client.topics.update_subscription(subscription_id, url=url))
        return
    service = destination.split(":")[2:3]
    if not destination.startswith("arn:") or service not in (["sqs"], ["events"]):
        raise click.BadParameter("an SQS queue or EventBridge bus ARN: arn:aws:sqs:<region>:<account>:<queue> or "
                                 "arn:aws:events:<region>:<account>:event-bus/<bus>", param_hint="--destination")
    target = {"type": "eventbridge" if service == ["events"] else "sqs", "arn": destination,
              **({"role_arn": role_arn} if role_arn else {})}
    _show_subscription(ctx, ctx.client.topics.update_subscription(subscription_id, destination=target))


@command(topics, "subs", help="A topic's subscriptions.")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 100), default=20)
@click.option("--cursor")
@output_option
def topics_subs(ctx: Ctx, name: str, limit: int, cursor: Optional[str], output: str) -> None:
    wide = wants_wide(ctx, output)

    def render(p):
        print_table(fit_table(
            [Column("id", 0, True), Column("url", 3), Column("event types", 1), Column("filter", 4), Column("paused", 2)],
            [[s["subscription_id"], s.get("url") or (s.get("destination") or {}).get("arn"), ",".join(s["event_types"]) if s.get("event_types") else "all",
              json.dumps(s["filter"]) if s.get("filter") else "-", "yes" if s.get("paused") else ""] for s in p["items"]],
            wide=wide))
        more(p)
    emit(ctx, ctx.client.topics.subscriptions(name, limit=limit, cursor=cursor), render)


@command(topics, "unsubscribe", help="Delete a subscription (its deliveries not yet made are cancelled).")
@click.argument("subscription_id")
def topics_unsubscribe(ctx: Ctx, subscription_id: str) -> None:
    r = ctx.client.topics.delete_subscription(subscription_id)
    emit(ctx, r, lambda res: console.print(say("deleted ", res["deleted"],
                                               f" ({res['cancelled_deliveries']} deliveries cancelled)")))
