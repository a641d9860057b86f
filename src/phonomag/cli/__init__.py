"""The command line, its TOML run configuration and the pipelines the commands run."""
