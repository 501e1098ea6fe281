"""The suite opts in to the package's pytest fixtures the way its users do."""

pytest_plugins = ["vllm_integrations.testing"]
