"""The domain and the log: event catalogue, case rules, sealing, keys, storage, projections.

`core` knows nothing of HTTP or of sync; `sync`, `server` and `client` build on it.
"""
