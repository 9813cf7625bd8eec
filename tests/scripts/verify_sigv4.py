"""Checks an AWS SigV4 `Authorization` header with botocore, independently of the filter's signer.

Reads one JSON object on stdin, as the mock provider recorded the request upstream of Envoy:
  {"method", "path" (path and query as sent), "headers" {name: value}, "body" (text),
   "access_key_id", "secret_access_key", "session_token" (or null), "region", "service"}
Rebuilds the request as botocore would send it to https://<recorded host><path>, with exactly the
headers the signature says it signed and the recorded `x-amz-date`, signs it with botocore's own
SigV4Auth and compares. Prints what differs and exits 1 on a mismatch; exits 0 when they agree.
Python tests import `check` instead.
"""

import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class Mismatch(Exception):
    """The signature does not verify; the message says why."""


def fail(message):
    raise Mismatch(message)


def parse_authorization(value):
    algorithm, _, rest = value.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        fail(f"not a SigV4 authorization header: {algorithm!r}")
    fields = {}
    for part in rest.split(","):
        key, _, val = part.strip().partition("=")
        fields[key] = val
    return fields


def check(seen):
    """Raises `Mismatch` unless botocore computes the same signature for `seen`."""
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    auth = headers.get("authorization")
    if auth is None:
        fail("no authorization header upstream")
    fields = parse_authorization(auth)
    key_id, date, region, service, terminator = fields["Credential"].split("/")
    if key_id != seen["access_key_id"]:
        fail(f"signed with access key {key_id!r}, want {seen['access_key_id']!r}")
    if (region, service, terminator) != (seen["region"], seen["service"], "aws4_request"):
        fail(f"credential scope {region}/{service}/{terminator}, want {seen['region']}/{seen['service']}/aws4_request")
    signed = fields["SignedHeaders"].split(";")
    for required in ["host", "x-amz-date"] + (["x-amz-security-token"] if seen.get("session_token") else []):
        if required not in signed:
            fail(f"{required} is not among the signed headers {signed}")
    if seen.get("session_token") and headers.get("x-amz-security-token") != seen["session_token"]:
        fail("x-amz-security-token upstream is not the session token of these credentials")
    timestamp = headers["x-amz-date"]
    if not timestamp.startswith(date):
        fail(f"x-amz-date {timestamp} is not on the credential scope's date {date}")

    url = "https://" + headers["host"] + seen["path"]
    request = AWSRequest(
        method=seen["method"],
        url=url,
        data=seen["body"].encode("utf-8"),
        headers={name: headers[name] for name in signed if name != "host"},
    )
    request.context["timestamp"] = timestamp
    signer = SigV4Auth(
        Credentials(seen["access_key_id"], seen["secret_access_key"], seen.get("session_token")),
        seen["service"],
        seen["region"],
    )
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    want = signer.signature(string_to_sign, request)
    if fields["Signature"] != want:
        fail(f"signature {fields['Signature']} != botocore's {want}\ncanonical request:\n{canonical}")


def main():
    try:
        check(json.load(sys.stdin))
    except (Mismatch, KeyError, ValueError) as e:
        print(f"{type(e).__name__}: {e}")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
