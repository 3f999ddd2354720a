"""The server: Starlette application (sync, department views, audit), authentication,
the uvicorn entry point and the administration commands."""
