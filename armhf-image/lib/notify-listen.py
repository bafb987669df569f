#!/usr/bin/env python3
"""Stands in for systemd's notification socket in tests.

Binds an AF_UNIX datagram socket at PATH and appends every message it receives to OUT, one line
per datagram with its KEY=VALUE lines joined by '|'. File descriptors that come with a message
(systemd-notify's barrier) are closed at once, which is what tells the sender that the message was
processed. Exits after SECONDS.

    notify-listen.py PATH OUT SECONDS
"""
import array
import os
import socket
import sys
import time


def main() -> None:
    path, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    sock.settimeout(0.5)
    end = time.monotonic() + seconds
    with open(out, "a", buffering=1, encoding="utf-8") as f:
        while time.monotonic() < end:
            try:
                data, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
            except socket.timeout:
                continue
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
                    for fd in fds:
                        os.close(fd)
            f.write(data.decode("utf-8", "replace").strip().replace("\n", "|") + "\n")
    sock.close()
    os.unlink(path)


if __name__ == "__main__":
    main()
