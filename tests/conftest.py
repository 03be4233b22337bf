import base64
import os

# Nothing here may reach AWS: dummy credentials, a fixed region, no profile.
for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(name, None)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("INFRAI_STAGE", "test")
# the at-rest sealing key (chalicelib/core/at_rest.py): one per test run
os.environ.setdefault("INFRAI_SEAL_KEY", base64.b64encode(os.urandom(32)).decode())

# Record every AWS operation the service's own code makes (tests/deploy checks them against the
# stage's IAM policy: everything used is allowed, everything allowed is used).
import tests.oprecorder  # noqa: E402

tests.oprecorder.install()

# Property tests: no deadline (speed is measured by bench/, never asserted by a test) and, in
# `make test`, a fixed derivation of examples, so CI passes or fails the same way every run.
# `make fuzz` sets HYPOTHESIS_PROFILE=explore to draw new random examples each time.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
