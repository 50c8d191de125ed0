"""The client commands: ``scriptdeck run``, ``ls``, ``logs``, ``cancel``, ``status``, ``login``.

They talk to a running server over its HTTP API (docs/api.md) and are described for
users in docs/cli.md. This package uses the standard library and httpx only: no Django,
no database, no SCRIPTDECK_HOME.

Exit codes: 0 the execution succeeded (or the command did its job); 1 the execution
ended FAILURE or CANCELLED, or ``cancel`` found it already ended; 2 the request was
refused or the command is misconfigured (no token, bad parameter, unknown script);
3 the server could not be reached or failed; 124 ``--timeout`` ran out while
following; 130 interrupted.
"""
