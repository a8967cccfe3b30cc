pytest_plugins = ["fixtures.options", "fixtures.targets", "fixtures.reporting", "fixtures.rehearsal"]
