"""A minimal `nc -U SOCKET` for the tests' fake ssh and ext helper: copies
standard input to the unix socket and the socket to standard output."""
import os
import socket
import sys
import threading

if len(sys.argv) != 3 or sys.argv[1] != "-U":
    sys.exit("usage: nc -U SOCKET")
peer = socket.socket(socket.AF_UNIX)
peer.connect(sys.argv[2])


def upstream():
    while True:
        data = os.read(0, 65536)
        if not data:
            peer.shutdown(socket.SHUT_WR)
            return
        peer.sendall(data)


threading.Thread(target=upstream, daemon=True).start()
while True:
    data = peer.recv(65536)
    if not data:
        break
    os.write(1, data)
