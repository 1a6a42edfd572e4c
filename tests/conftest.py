"""Shared fixtures. Each backend's servers and factories live in their own plugin module."""

pytest_plugins = [
    "tests.fixtures.media",
    "tests.fixtures.stores",
    "tests.fixtures.local",
    "tests.fixtures.seaweed",
    "tests.fixtures.s3",
    "tests.fixtures.oss",
    "tests.fixtures.qiniu",
    "tests.fixtures.retries",
    "tests.fixtures.postgres",
]
