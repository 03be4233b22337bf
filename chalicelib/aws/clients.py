"""Lazy boto3 clients, one per service per process, made on first use (cold start is billed,
and moto must be up before the first client). botocore honours AWS_ENDPOINT_URL, which is how
the local stack points the same code at moto."""
import functools
import os
import threading

_lock = threading.Lock()
# Every call has a bound: botocore's defaults (60 s to connect, 60 s to read, per try) let one
# slow call use up a reconciler run or a deliver batch. DynamoDB, SQS and Scheduler answer in
# milliseconds; a long poll (WaitTimeSeconds <= 20) must fit in the read timeout.
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 25


@functools.lru_cache(maxsize=None)
def _client(service: str, region: str):
    import boto3  # deferred: importing boto3 is most of a cold start
    from botocore.config import Config

    with _lock:  # boto3's default session is not safe to create clients from concurrently
        return boto3.session.Session().client(
            service, region_name=region,
            config=Config(retries={"max_attempts": 4, "mode": "standard"}, max_pool_connections=32,
                          connect_timeout=float(os.environ.get("INFRAI_AWS_CONNECT_TIMEOUT", CONNECT_TIMEOUT)),
                          read_timeout=float(os.environ.get("INFRAI_AWS_READ_TIMEOUT", READ_TIMEOUT))))


def client(service: str):
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return _client(service, region)


def in_region(service: str, region: str):
    """A client for another region than the function's (a destination's: aws/destinations.py)."""
    return _client(service, region)


def with_credentials(service: str, region: str, credentials: dict):
    """A client acting with an assumed role's temporary credentials (STS AssumeRole's
    `Credentials`); not cached here: they expire (aws/destinations.py keeps it until then)."""
    import boto3  # deferred, as above
    from botocore.config import Config

    with _lock:
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"]).client(
            service, region_name=region,
            config=Config(retries={"max_attempts": 4, "mode": "standard"},
                          connect_timeout=float(os.environ.get("INFRAI_AWS_CONNECT_TIMEOUT", CONNECT_TIMEOUT)),
                          read_timeout=float(os.environ.get("INFRAI_AWS_READ_TIMEOUT", READ_TIMEOUT))))


def dynamodb():
    return client("dynamodb")


def sqs():
    return client("sqs")


def scheduler():
    return client("scheduler")


def ssm():
    return client("ssm")


def sts():
    return client("sts")


def reset() -> None:
    """Forget every client (tests that restart moto or change the endpoint)."""
    _client.cache_clear()
