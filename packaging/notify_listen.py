#!/usr/bin/env python3
"""notify_listen.py SOCKET LOG: what systemd does for a Type=notify unit, for packaging/package_test.sh.

Binds a datagram socket at SOCKET (the path a server finds in NOTIFY_SOCKET) and appends every datagram it
receives to LOG, one field per line. Exits after STOPPING=1, or after 60 seconds.
"""
import os
import socket
import sys
import time

path, log = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(1.0)
deadline = time.monotonic() + 60
with open(log, "a", encoding="utf-8") as out:
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096).decode("utf-8", "replace")
        except socket.timeout:
            continue
        out.write(data.rstrip("\n") + "\n")
        out.flush()
        if "STOPPING=1" in data.split("\n"):
            break
os.unlink(path)
