"""Whether the runner that sent a waiting long-poll has gone away (closed its connection).

A runner stopped while its lease call waits closes the socket; without this check the server went on
waiting, then claimed tasks for nobody: they sat leased until their lease expired (a minute) and each
counted as a lost lease. Only gunicorn hands the socket to the application (`gunicorn.socket`);
elsewhere (the test server, TLS sockets that refuse flags) the runner is assumed to be there.
"""

import socket


def client_gone(request) -> bool:
    sock = request.META.get("gunicorn.socket")
    if sock is None:
        return False
    try:
        # A peek: a pipelined next request stays in the buffer for the server to read.
        data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return False  # nothing to read: still connected and quiet, as a waiting runner is
    except ValueError:
        return False  # an SSL socket takes no flags: cannot tell, so assume the runner is there
    except OSError:
        return True  # reset or broken: nobody will read the answer
    return data == b""
