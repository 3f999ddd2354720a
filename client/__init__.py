"""The field laptop: local encrypted store, outbox, sync loop and the worker's commands."""
