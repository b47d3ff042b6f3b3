"""Known vulnerabilities of Go modules, from the Go vulnerability database (vuln.go.dev layout).

- ``osv``: the OSV entries and the database's two indexes as data; bounded parsing (pure).
- ``match``: which versions an OSV range affects, over Go's semantic versions (pure).
- ``imports``: the import paths a Go source file declares (pure; imports only).
- ``scan``: a module's requirements and imports against entries → ``Finding``s (pure).
- ``db``: the database reader: ``https://`` or ``file://``, gzip, an on-disk cache keyed by
  each entry's ``modified`` time, offline use of that cache (the only I/O in this package).

``actions/audit.py`` puts them together for ``gopush audit``, ``push --audit`` and the server.
"""
