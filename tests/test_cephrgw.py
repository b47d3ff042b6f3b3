"""The S3 fixture itself: Ceph's RADOS Gateway answers signed S3 requests, refuses bad keys,
keeps a multipart object whole, and leaves no daemon behind."""

from __future__ import annotations

import os
import socket

import pytest
from cephrgw import RadosGateway, find

boto3 = pytest.importorskip("boto3")
botocore = pytest.importorskip("botocore")
pytestmark = pytest.mark.skipif(find() is not None, reason=str(find()))

PART = 5 * 1024 * 1024  # S3's smallest part but the last


def test_gateway_speaks_s3_and_stops_clean() -> None:
    gateway = RadosGateway.start()
    try:
        s3 = boto3.client("s3", endpoint_url=gateway.endpoint, region_name="us-east-1",
                          aws_access_key_id=gateway.access_key,
                          aws_secret_access_key=gateway.secret_key)
        s3.create_bucket(Bucket="blobs")
        data = os.urandom(2 * PART + 123)
        upload = s3.create_multipart_upload(Bucket="blobs", Key="m")["UploadId"]
        parts = []
        for number, start in enumerate(range(0, len(data), PART), 1):
            tag = s3.upload_part(Bucket="blobs", Key="m", UploadId=upload, PartNumber=number,
                                 Body=data[start:start + PART])["ETag"]
            parts.append({"ETag": tag, "PartNumber": number})
        s3.complete_multipart_upload(Bucket="blobs", Key="m", UploadId=upload,
                                     MultipartUpload={"Parts": parts})
        assert s3.get_object(Bucket="blobs", Key="m")["Body"].read() == data

        wrong = boto3.client("s3", endpoint_url=gateway.endpoint, region_name="us-east-1",
                             aws_access_key_id=gateway.access_key,
                             aws_secret_access_key="not-the-secret")
        with pytest.raises(botocore.exceptions.ClientError, match="SignatureDoesNotMatch"):
            wrong.get_object(Bucket="blobs", Key="m")
    finally:
        gateway.stop()
    assert not gateway.root.exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", gateway.s3_port)) != 0
