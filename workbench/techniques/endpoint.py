"""A chat model behind an OpenAI-compatible HTTP endpoint, for users who name one (an explainer of latents).

Nothing here runs at import, and no request is made unless an :class:`Endpoint` is
given to a technique: the workbench's default path never uses the network. The
answer is untrusted: read bounded (:data:`RESPONSE_LIMIT` bytes), checked to be the
chat-completions shape, and returned as plain text.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

RESPONSE_LIMIT = 1 << 20   # bytes of an endpoint's answer that are read


@dataclass(frozen=True)
class Endpoint:
    """A chat model behind an OpenAI-compatible endpoint (``POST {base_url}/chat/completions``).

    The key is read from the environment variable ``api_key_env`` when a request is
    made (never stored, never journaled); an empty variable sends no key (a local server).

    Examples
    --------
    >>> Endpoint("http://127.0.0.1:8000/v1", "my-model").name
    'my-model@http://127.0.0.1:8000/v1'
    """

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 60.0
    max_tokens: int = 64

    def __post_init__(self) -> None:
        if not isinstance(self.base_url, str) or not re.match(r"https?://", self.base_url):
            raise ValueError(f"base_url must be an http:// or https:// URL, not {self.base_url!r}.")
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError("model must name the endpoint's model, e.g. Endpoint(url, 'gpt-4o-mini').")

    @property
    def name(self) -> str:
        return f"{self.model}@{self.base_url.rstrip('/')}"

    def complete(self, prompt: str) -> str:
        """The model's answer to one user message (temperature 0), as text."""
        import urllib.error
        import urllib.request

        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = json.dumps({"model": self.model, "messages": [{"role": "user", "content": prompt}],
                           "temperature": 0, "max_tokens": self.max_tokens}).encode()
        request = urllib.request.Request(self.base_url.rstrip("/") + "/chat/completions", data=body,
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # http(s): checked
                raw = response.read(RESPONSE_LIMIT + 1)
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"The endpoint {self.name} answered HTTP {error.code}: check its URL, model and "
                               f"the key in ${self.api_key_env}.") from None
        if len(raw) > RESPONSE_LIMIT:
            raise RuntimeError(f"The endpoint {self.name} sent more than {RESPONSE_LIMIT} bytes; not read.")
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise RuntimeError(f"The endpoint {self.name} did not answer in the chat-completions format "
                               "(choices[0].message.content).") from None
        if not isinstance(content, str):
            raise RuntimeError(f"The endpoint {self.name} answered a non-text message.")
        return content
