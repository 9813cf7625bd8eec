"""Anthropic SDK through Warden: a message, then a stream."""
import os

import anthropic

base = os.environ.get("WARDEN_URL", "http://127.0.0.1:10000")
client = anthropic.Anthropic(api_key=os.environ.get("ANTHROPIC_API_KEY", "sk-ant-demo"), base_url=f"{base}/v1/anthropic")

message = client.messages.create(model="claude-sonnet-4-5", max_tokens=256,
                                 messages=[{"role": "user", "content": "Say hello"}])
print(message.content[0].text, message.usage)

with client.messages.stream(model="claude-sonnet-4-5", max_tokens=256,
                            messages=[{"role": "user", "content": "Say hello"}]) as stream:
    print("".join(stream.text_stream))
