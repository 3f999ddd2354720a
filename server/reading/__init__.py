"""What departments and auditors read: the views of one server process and their endpoints.

service.py      `Reading`: the case and CPR indexes, the case and view caches and the
                access log of one server process
queries.py      the work of each read (a department's list, case and search; the
                auditor's replay, access log, exceptions, export and retention), shared
                by the JSON endpoints, the pages (`server.pages`) and the commands
requests.py     what an endpoint takes from a request: the caller and the purpose
departments.py  the JSON endpoints of the department views
audit.py        the JSON endpoints of auditors and the citizen's own file
"""
