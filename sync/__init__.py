"""The wire protocol between field laptops and the server: pure code, no HTTP in it."""
