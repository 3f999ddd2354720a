"""The administrator's part of the server: departments, workers, devices, case assignments.

actions.py   what an administrator does, with the JSON the API answers (no HTTP)
routes.py    the HTTP endpoints under /v1/admin
"""
