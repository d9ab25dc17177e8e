pytest_plugins = ["leadflow.testing.fixtures"]
