"""The simulator on a real socket, served by uvicorn in a thread, for the modules of this folder."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest

from headwater.sim.config import SimConfig
from headwater.sim.server import make_server

#: A small context length, so that replies running to it stay short.
MAX_MODEL_LEN = 256
#: The context length of the ``roomy`` server, room for schemas in the prompt and JSON in the reply.
ROOMY_MODEL_LEN = 32_768


@contextmanager
def _serving(config: SimConfig) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = make_server(config, port=port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with _serving(SimConfig(ttft_ms=0, tokens_per_second=0, max_model_len=MAX_MODEL_LEN)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base_url + "/v1", api_key="x", max_retries=0) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url) as c:
        yield c


@pytest.fixture(scope="module")
def roomy_url() -> Iterator[str]:
    with _serving(SimConfig(ttft_ms=0, tokens_per_second=0, max_model_len=ROOMY_MODEL_LEN)) as url:
        yield url


@pytest.fixture(scope="module")
def roomy(roomy_url: str) -> Iterator[openai.OpenAI]:
    """An SDK client of a simulator with a large context length."""
    with openai.OpenAI(base_url=roomy_url + "/v1", api_key="x", max_retries=0) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def roomy_http(roomy_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=roomy_url, timeout=30) as c:
        yield c
