"""The durafn Python worker: runs Azure Functions Python apps for a durafn host.

The host starts ``python -m durafn_worker`` as a child process and talks to it over a Unix
domain socket (see ``PROTOCOL.md`` next to this package). The worker imports the app with the
app's own ``azure-functions`` and ``azure-functions-durable`` packages and runs its functions;
it keeps no durable state, so the host may kill and restart it at any time.

The package uses only the standard library, so that the host can embed its sources and write
them wherever it likes.
"""

__version__ = "0.1.0"

#: The version of the frame protocol. The host sends the version it speaks in ``init``; a
#: worker refuses a version it does not know.
PROTOCOL_VERSION = 1
