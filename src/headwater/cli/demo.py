"""headwater demo — what ``make run`` starts: the simulator, Headwater, two models and a demo key."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from headwater.cli.client import AdminClient, CliError
from headwater.cli.output import console

CHAT_MODEL = "sim-chat"
EMBED_MODEL = "sim-embed"


def _documents(sim_url: str) -> list[dict[str, Any]]:
    def model(name: str, kind: str, price_in: str, price_out: str, description: str) -> dict[str, Any]:
        return {
            "apiVersion": "headwater/v1",
            "kind": "Model",
            "metadata": {"name": name},
            "spec": {
                "kind": kind,
                "access": "open",
                "description": description,
                "pricing": {
                    "inputPerMillion": price_in,
                    "outputPerMillion": price_out,
                    "currency": "USD",
                },
                "deployments": [{"provider": "openai", "baseUrl": sim_url, "upstreamModel": name}],
            },
        }

    return [
        model(CHAT_MODEL, "chat", "0.20", "0.60", "Simulated chat model (headwater sim)"),
        model(EMBED_MODEL, "embedding", "0.02", "0", "Simulated embedding model (headwater sim)"),
    ]


def _admin_token(data_dir: Path) -> str:
    path = data_dir / "admin-token"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    token = "hwadm_" + secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


def _wait_ready(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 60.0) -> None:
    import httpx  # imported here: ~2.5 MB resident in `headwater serve` otherwise (cli.client)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CliError(f"{what} exited (code {process.returncode}); see the messages above")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise CliError(f"{what} did not become ready at {url}")


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


def _console_line(gateway: str) -> str:
    """Where the web console is, or how to build it (a checkout without Node runs without it)."""
    if (Path(__file__).resolve().parent.parent / "console" / "index.html").is_file():
        return f"  Console                      [bold]{gateway}/[/bold]  (sign in with the admin token below)"
    return "  Console                      not built: install Node.js and run `make console`"


def _banner(gateway: str, key: str, token_file: Path) -> None:
    token = f"cat {token_file}" if token_file.exists() else "the HEADWATER_ADMIN_TOKEN you set"
    console.print(
        f"""
[bold green]Headwater is running.[/bold green]

{_console_line(gateway)}
  Admin token                  {token}
  Gateway (OpenAI-compatible)  {gateway}/v1
  Admin API docs               {gateway}/api/docs
  Models                       {CHAT_MODEL} (chat), {EMBED_MODEL} (embeddings)

  Demo API key (shown once)    [bold]{key}[/bold]

Try it with curl:

  curl {gateway}/v1/chat/completions \\
    -H "Authorization: Bearer {key}" \\
    -H "Content-Type: application/json" \\
    -d '{{"model": "{CHAT_MODEL}", "messages": [{{"role": "user", "content": "Hello!"}}]}}'

or with the OpenAI SDK (pip install openai):

from openai import OpenAI
client = OpenAI(base_url="{gateway}/v1", api_key="{key}")
reply = client.chat.completions.create(
    model="{CHAT_MODEL}", messages=[{{"role": "user", "content": "Hello!"}}]
)
print(reply.choices[0].message.content)

The CLI:  export HEADWATER_TOKEN=$(cat .headwater/admin-token); .venv/bin/headwater usage tail
Press Ctrl-C to stop.
""",
        markup=True,
        highlight=False,
        soft_wrap=True,
    )


def demo(
    port: Annotated[int, typer.Option("--port")] = 8080,
    sim_port: Annotated[int, typer.Option("--sim-port")] = 8001,
) -> None:
    """Start the simulator and Headwater on SQLite, register the simulated models, print a demo key."""
    # Ctrl-C stops everything, even where SIGINT came ignored (a job started with `&` by a shell
    # without job control): Python keeps an inherited SIG_IGN instead of raising KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    host = "127.0.0.1"
    for what, number in (("Headwater", port), ("the simulator", sim_port)):
        if not _port_free(host, number):
            raise CliError(
                f"port {number} for {what} is already in use; stop what uses it or pass --port/--sim-port"
            )
    data_dir = Path(os.environ.get("HEADWATER_DATA_DIR", ".headwater"))
    token = os.environ.get("HEADWATER_ADMIN_TOKEN") or _admin_token(data_dir)
    env = {**os.environ, "HEADWATER_ADMIN_TOKEN": token, "HEADWATER_DATA_DIR": str(data_dir)}
    exe = [sys.executable, "-m", "headwater"]
    sim = subprocess.Popen([*exe, "sim", "--host", host, "--port", str(sim_port)], env=env)
    server = subprocess.Popen([*exe, "serve", "--host", host, "--port", str(port)], env=env)
    gateway = f"http://{host}:{port}"
    try:
        _wait_ready(f"http://{host}:{sim_port}/health", sim, "the simulator")
        _wait_ready(f"{gateway}/readyz", server, "Headwater")
        with AdminClient(gateway, token) as client:
            client.post("/apply", {"documents": _documents(f"http://{host}:{sim_port}/v1")})
            for old in client.get("/keys", name="demo", status="active", limit=500)["items"]:
                client.post(f"/keys/{old['id']}/revoke")
            created = client.post("/keys", {"name": "demo", "description": "Created by make run"})
        token_file = data_dir / "admin-token"
        _banner(gateway, created["key"], token_file)
        while server.poll() is None and sim.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in (server, sim):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in (server, sim):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    console.print("stopped")
