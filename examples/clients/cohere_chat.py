"""Cohere SDK (v2) through Warden: chat, then a stream."""
import os

import cohere

base = os.environ.get("WARDEN_URL", "http://127.0.0.1:10000")
client = cohere.ClientV2(api_key=os.environ.get("CO_API_KEY", "co-demo"), base_url=f"{base}/v1/cohere")

reply = client.chat(model="command-a-03-2025", messages=[{"role": "user", "content": "Say hello"}])
print(reply.message.content[0].text, reply.usage)

for event in client.chat_stream(model="command-a-03-2025", messages=[{"role": "user", "content": "Say hello"}]):
    if event.type == "content-delta":
        print(event.delta.message.content.text, end="")
print()
