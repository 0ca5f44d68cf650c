"""A fake QEMU monitor for the tests that need one in another process (for
instance under another user, through setpriv): listens on the Unix socket
PATH, greets each client, answers the driver's handshake and identity
queries (running, with UUID), and answers every other command, `quit`
included, with an empty success without exiting. Prints "ready" once
listening and "closed" each time a client goes away. Runs until killed.

    python3 fake_qemu.py PATH UUID   (or python3 -c "$(cat fake_qemu.py)" PATH UUID)
"""

import json
import socket
import sys

GREETING = {"QMP": {"version": {"qemu": {"micro": 0, "minor": 0, "major": 10}, "package": ""}, "capabilities": []}}


def serve(client: socket.socket, uuid: str) -> None:
    replies = {
        "query-status": {"running": True, "status": "running"},
        "query-uuid": {"UUID": uuid},
        "query-block": [],
    }
    client.sendall((json.dumps(GREETING) + "\r\n").encode())
    for line in client.makefile("rb"):
        command = json.loads(line)
        reply = {"return": replies.get(command.get("execute"), {}), "id": command.get("id")}
        client.sendall((json.dumps(reply) + "\r\n").encode())


def main() -> None:
    path, uuid = sys.argv[1], sys.argv[2]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)
    print("ready", flush=True)
    while True:
        client, _ = listener.accept()
        try:
            serve(client, uuid)
        except OSError:
            pass
        client.close()
        print("closed", flush=True)


main()
