"""Holds N idle inbox subscribers open (GET /inbox as Server-Sent Events) until killed.

Usage: python bench/idle_subscribers.py HOST PORT API_KEY N
Prints "ready N" once every stream has answered 200.
"""

import resource
import socket
import sys
import time

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

HOST, PORT, KEY, COUNT = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
request = (f"GET /inbox HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nAuthorization: Bearer {KEY}\r\n"
           "Accept: text/event-stream\r\n\r\n").encode()
sockets = []
for _ in range(COUNT):
    s = socket.create_connection((HOST, PORT))
    s.sendall(request)
    sockets.append(s)
for s in sockets:
    s.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
print(f"ready {len(sockets)}", flush=True)
while True:
    time.sleep(3600)
