"""The wire protocol between field laptops and the server: pure code, no HTTP in it.

What both ends share, once: the message shapes and limits (`protocol`), the canonical
form of a signed request (`signature`) and the protocol's errors (`errors`). The server's
push, pull and caseload services live with the server (`server.syncing`).
"""
