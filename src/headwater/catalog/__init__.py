"""The model catalog: models (assets) and their deployments."""
