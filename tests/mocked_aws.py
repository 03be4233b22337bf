"""moto in this process, with the service's cached clients pointed at it: the set-up the
functional and deploy tests share."""
import contextlib

from moto import mock_aws


@contextlib.contextmanager
def mocked_aws(monkeypatch, provisioned: bool = True):
    """AWS mocked in-process (no AWS_ENDPOINT_URL: that points at a moto server); the local
    stack's table and queues made when `provisioned`; the clients reset on the way in and out."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from chalicelib.aws import clients, dispatch
    with mock_aws():
        clients.reset()
        dispatch.reset()
        try:
            if provisioned:
                from local import provision
                provision.provision()
            yield
        finally:
            clients.reset()
            dispatch.reset()
