"""A throwaway S3 server for tests (moto's, `bench.servers`, which `idflow bench-scale` shares),
and what a test sees in a bucket."""

from __future__ import annotations

from bench.servers import S3_CREDENTIALS as CREDENTIALS
from bench.servers import s3 as server
from bench.servers import s3_client as client
from bench.servers import s3_installed as installed
from bench.servers import s3_new_bucket as new_bucket

__all__ = ["CREDENTIALS", "client", "installed", "new_bucket", "objects", "server"]


def objects(endpoint_url: str, bucket: str) -> dict[str, bytes]:
    """Every object in the bucket, by name, with its stored bytes."""
    found = client(endpoint_url)
    names = [
        item["Key"]
        for page in found.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    return {name: found.get_object(Bucket=bucket, Key=name)["Body"].read() for name in names}
