"""The worker's recording and reading commands of `tovholder client`, one module per topic.

Each module has one `register(parsers)` that adds its command groups; `client.cli.register`
is the entry point that puts them together with `init`, `sync` and `status`. `online`
holds `init` and `sync`, the two commands that talk to the server.
"""
