"""leadflow shared library: the only code every service imports."""
