"""The server's side of sync: the laptops' endpoints and the services behind them.

- `endpoints`: the HTTP endpoints of enrollment, push and pull (thin: decode,
  authenticate, hand over to a service in a worker thread), listed in `routes`;
- `push`: judging a pushed batch against the case rules and appending it to the log;
- `pull`: the pages a device receives within its worker's caseload;
- `caseload`: which cases a worker's devices receive (assignments and cases they opened);
- `ordering`: a laptop's batches judged in its order, two on the way at once.

The message shapes, limits and signed-request form both ends share stay in `sync`.
"""
