"""Each extra works alone, installed from the wheel into a fresh environment: its public names
import, its README example runs against the real test server, and what it lacks is named.
And installing the package changes nobody's test run: its pytest fixtures are opt-in."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.packaging.conftest import Env, run
from tests.readme_examples import check_output, example

IMPORTS = {
    "langchain": "from vllm_integrations.langchain import VLLM, ChatVLLM",
    "llama-index": "from vllm_integrations.llama_index import VLLM",
    "grpc": "from vllm_integrations.grpc import (AsyncStream, AsyncVLLMGrpcClient, Stream, "
    "StructuredOutputs, TokenDecoder, VLLMGrpcClient)",
    "ui": "from vllm_integrations.ui import ChatPageServer, create_app, serve",
}
README_EXAMPLE = {
    "langchain": "chat.stream(",
    "llama-index": "llm.stream_chat(",
    "grpc": "VLLMGrpcClient(",
    "ui": "ChatPageServer(",
}
MISSING = {
    "langchain": ("ChatVLLM(base_url='grpc://127.0.0.1:50051')", "grpc"),
    "llama-index": ("VLLM(base_url='grpc://127.0.0.1:50051')", "grpc"),
    "grpc": ("__import__('vllm_integrations.langchain')", "langchain"),
    "ui": ("ChatPageServer('grpc://127.0.0.1:50051')", "grpc"),
}
CHECK_MISSING = """
{imports}
from vllm_integrations.errors import MissingExtraError
try:
    {call}
except MissingExtraError as error:
    print(error)
"""


@pytest.mark.parametrize("extra", ["langchain", "llama-index", "grpc", "ui"])
def test_an_extra_alone_imports_runs_its_readme_example_and_names_what_it_lacks(
    extra: str,
    fresh_env: Callable[[str], Env],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    env = fresh_env(extra)
    variables = _server_variables(extra, request)
    env.run("-c", IMPORTS[extra])

    code = example(README_EXAMPLE[extra])
    (tmp_path / "example.py").write_text(code)
    check_output(code, env.run(str(tmp_path / "example.py"), env=variables))

    call, needed = MISSING[extra]
    printed = env.run("-c", CHECK_MISSING.format(imports=IMPORTS[extra], call=call))
    assert f"pip install 'vllm-integrations[{needed}]'" in printed


def _server_variables(extra: str, request: pytest.FixtureRequest) -> dict[str, str]:
    if extra == "grpc":
        address = urlsplit(request.getfixturevalue("vllm_grpc_base_url"))
        return {"VLLM_GRPC_HOST": str(address.hostname), "VLLM_GRPC_PORT": str(address.port)}
    return {"VLLM_BASE_URL": request.getfixturevalue("vllm_http_base_url")}


def test_the_command_runs_from_the_ui_extra_and_names_it_elsewhere(
    fresh_env: Callable[[str], Env], vllm_http_base_url: str
) -> None:
    question = "What is the capital of France?"
    command = str(fresh_env("ui").root / "bin" / "vllm-integrations")
    answer = run(
        [command, "chat", question, "--base-url", vllm_http_base_url, "--temperature", "0"],
        timeout=120,
    )
    assert answer == "The capital of France is Paris.\n"
    without = subprocess.run(
        [str(fresh_env("langchain").root / "bin" / "vllm-integrations"), "chat", question],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert without.returncode == 1
    assert "pip install 'vllm-integrations[ui]'" in without.stderr


UNRELATED_TEST = """
import signal


def test_no_plugin_of_vllm_integrations_is_loaded(request):
    plugins = request.config.pluginmanager.list_name_plugin()
    modules = [getattr(plugin, "__name__", "") for _, plugin in plugins]
    assert not [m for m in modules if m.startswith("vllm_integrations")], modules
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
"""


def test_installing_the_package_changes_no_test_run(
    fresh_env: Callable[[str], Env], tmp_path: Path
) -> None:
    env = fresh_env("testing")
    project = tmp_path / "unrelated"
    project.mkdir()
    (project / "test_unrelated.py").write_text(textwrap.dedent(UNRELATED_TEST))
    assert "1 passed" in env.run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    fixtures = env.run("-m", "pytest", "--fixtures", "-p", "no:cacheprovider", cwd=project)
    assert "vllm_http_base_url" not in fixtures
    opted_in = env.run(
        "-m",
        "pytest",
        "--fixtures",
        "-p",
        "no:cacheprovider",
        "-p",
        "vllm_integrations.testing",
        cwd=project,
    )
    assert "vllm_http_base_url" in opted_in
    assert "vllm_grpc_base_url" in opted_in
