"""moto in this process, with the service's cached clients pointed at it: the set-up the
functional and deploy tests share."""
import contextlib
import functools

import botocore.loaders
import botocore.session
from moto import mock_aws


class _Paths(list):
    """A search path list that ignores a path it already has (boto3 adds its own on every session)."""

    def append(self, path):
        if path not in self:
            super().append(path)


@functools.lru_cache(maxsize=None)
def _shared_loader(search_path_string=None):
    """One botocore data loader for every session the tests make: the clients are made again for
    each test (moto starts afresh), and each new session would parse botocore's service models and
    endpoints again (a third of a second a test). The models are read-only data."""
    loader = botocore.loaders.create_loader(search_path_string)
    loader._search_paths = _Paths(loader.search_paths)
    return loader


@contextlib.contextmanager
def mocked_aws(monkeypatch, provisioned: bool = True):
    """AWS mocked in-process (no AWS_ENDPOINT_URL: that points at a moto server); the local
    stack's table and queues made when `provisioned`; the clients reset on the way in and out."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(botocore.session, "create_loader", _shared_loader)
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
