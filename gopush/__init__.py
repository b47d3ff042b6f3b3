"""gopush: Go module zips identical to the go command's, published to private registries."""

__version__ = "0.1.0.dev0"
