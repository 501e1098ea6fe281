"""LocalVLLMServer's command line and argument checks, without starting anything."""

from __future__ import annotations

import pytest

from vllm_integrations.server import LocalVLLMServer


def test_http_command_carries_every_option() -> None:
    server = LocalVLLMServer(
        "/models/m",
        port=8123,
        served_model_name="m",
        reasoning_parser="qwen3",
        tool_call_parser="hermes",
        max_model_len=1024,
        dtype="float32",
        api_key="secret",
        extra_args=["--seed", "7"],
        python="/usr/bin/python3",
    )
    command = server.command()
    assert command[:3] == ["/usr/bin/python3", "-m", "vllm.entrypoints.openai.api_server"]
    pairs = dict(zip(command[3::2], command[4::2], strict=False))
    assert pairs["--model"] == "/models/m"
    assert pairs["--port"] == "8123"
    assert pairs["--reasoning-parser"] == "qwen3"
    assert pairs["--tool-call-parser"] == "hermes"
    assert "--enable-auto-tool-choice" in command
    assert command[-2:] == ["--seed", "7"]
    assert server.base_url == "http://127.0.0.1:8123/v1"


def test_api_key_goes_through_the_environment_never_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VLLM_API_KEY", "the-clients-key")
    keyed = LocalVLLMServer("/models/m", port=8123, api_key="secret")
    assert "secret" not in keyed.command()  # `ps` shows command lines to every user
    assert "--api-key" not in keyed.command()
    assert keyed.environment()["VLLM_API_KEY"] == "secret"
    # A key set for this process's clients does not lock a server started without one.
    assert "VLLM_API_KEY" not in LocalVLLMServer("/models/m", port=8123).environment()


def test_grpc_server_uses_the_grpc_launcher() -> None:
    server = LocalVLLMServer("/models/m", protocol="grpc", host="0.0.0.0", port=50051)
    assert "vllm.entrypoints.launchers.grpc_server" in server.command()
    assert server.base_url == "grpc://127.0.0.1:50051"


def test_grpc_server_rejects_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="tool_call_parser"):
        LocalVLLMServer("/models/m", protocol="grpc", tool_call_parser="hermes")
    with pytest.raises(ValueError, match="api_key"):
        LocalVLLMServer("/models/m", protocol="grpc", api_key="k")


def test_unknown_protocol_is_an_error() -> None:
    with pytest.raises(ValueError, match="protocol"):
        LocalVLLMServer("/models/m", protocol="websocket")  # type: ignore[arg-type]


def test_base_url_needs_a_port() -> None:
    with pytest.raises(RuntimeError, match="start"):
        _ = LocalVLLMServer("/models/m").base_url
