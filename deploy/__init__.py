"""Deployment (issue 7): provisioning, the merge template for `chalice package`, the make targets."""
