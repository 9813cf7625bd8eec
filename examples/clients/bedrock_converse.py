"""boto3 bedrock-runtime through Warden: Converse, then ConverseStream."""
import os

import boto3

base = os.environ.get("WARDEN_URL", "http://127.0.0.1:10000")
kwargs = {}
if not base.startswith("https://"):
    # boto3 sends Bedrock API keys over HTTPS only; on plain HTTP (the demo) sign with dummy
    # credentials instead, which the mock provider accepts.
    os.environ.pop("AWS_BEARER_TOKEN_BEDROCK", None)
    kwargs = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "demo"}
client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=f"{base}/v1/bedrock", **kwargs)

model = "anthropic.claude-3-haiku-20240307-v1:0"
messages = [{"role": "user", "content": [{"text": "Say hello"}]}]
reply = client.converse(modelId=model, messages=messages)
print(reply["output"]["message"]["content"][0]["text"], reply["usage"])

for event in client.converse_stream(modelId=model, messages=messages)["stream"]:
    print(event.get("contentBlockDelta", {}).get("delta", {}).get("text", ""), end="")
print()
