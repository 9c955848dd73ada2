"""Fixtures live in tests/support/, one module per concern."""

pytest_plugins = [
    "tests.support.paths",
    "tests.support.programs",
    "tests.support.stap",
    "tests.support.sudo_user",
    "tests.support.nginx",
    "tests.support.nginx_build",
    "tests.support.jupyterlab",
    "tests.support.compose",
    "tests.support.recordings",
    "tests.support.lab",
]
