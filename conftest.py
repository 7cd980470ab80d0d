"""Fixtures every test tier can use; the harness lives in the dev-stack package."""

pytest_plugins = ["leadflow_devstack.pytest_plugin"]
