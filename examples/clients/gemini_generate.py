"""google-genai SDK through Warden: generate_content, then a stream."""
import os

from google import genai
from google.genai import types

base = os.environ.get("WARDEN_URL", "http://127.0.0.1:10000")
client = genai.Client(api_key=os.environ.get("GEMINI_API_KEY", "AIza-demo"),
                      http_options=types.HttpOptions(base_url=f"{base}/v1/gemini", api_version="v1beta"))

reply = client.models.generate_content(model="gemini-2.5-flash", contents="Say hello")
print(reply.text, reply.usage_metadata)

for chunk in client.models.generate_content_stream(model="gemini-2.5-flash", contents="Say hello"):
    print(chunk.text or "", end="")
print()
