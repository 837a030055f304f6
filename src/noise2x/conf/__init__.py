"""The packaged Hydra configs of ``noise2x train`` (YAML files; see config.yaml)."""
