"""A real S3-compatible server on 127.0.0.1 for the remote log dir tests: moto in server mode.

Nothing of insider's or Inspect's is mocked: Inspect writes its logs through s3fs over HTTP to
this server, exactly as it would to AWS. Clients find it through the usual AWS environment
variables (`S3Server.env`), which child processes inherit.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import boto3
from moto.server import ThreadedMotoServer


@dataclass
class S3Server:
    """moto's S3 on a free port of 127.0.0.1, from a daemon thread."""

    host: str = "127.0.0.1"
    port: int = 0
    _server: ThreadedMotoServer | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """What a client needs: the endpoint and (fake) credentials, as the AWS variables."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "insider-test-key",
            "AWS_SECRET_ACCESS_KEY": "insider-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def start(self) -> "S3Server":
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self.host, self.port = self._server.get_host_and_port()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, **_credentials(self.env))

    def new_bucket(self) -> str:
        """A fresh, empty bucket (one per test keeps tests apart)."""
        name = f"insider-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under a prefix."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _credentials(env: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "region_name": env["AWS_DEFAULT_REGION"],
    }
