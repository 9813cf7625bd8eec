"""OpenAI SDK through Warden: a chat completion, then a stream."""
import os

import openai

base = os.environ.get("WARDEN_URL", "http://127.0.0.1:10000")
client = openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY", "sk-demo"), base_url=f"{base}/v1/openai")

reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}])
print(reply.choices[0].message.content, reply.usage)

stream = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}],
                                        stream=True)
print("".join(c.choices[0].delta.content or "" for c in stream if c.choices))
