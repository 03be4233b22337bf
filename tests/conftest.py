import os

# Nothing here may reach AWS: dummy credentials, a fixed region, no profile.
for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(name, None)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("INFRAI_STAGE", "test")

# Record every AWS operation the service's own code makes (tests/deploy checks them against the
# stage's IAM policy: everything used is allowed, everything allowed is used).
import tests.oprecorder  # noqa: E402

tests.oprecorder.install()
