"""A Docker Engine that does nothing, instantly: the docker CLI's own cost
of `docker run --rm IMG true` (start-up, the calls' round trips, exit),
which no engine can go below. Used by bench/api.sh.
    python3 bench/null-engine.py SOCKET
Answers _ping, create, attach, wait and start as an engine would for a
container that exits 0 at once; anything else is a 404."""
import os
import socket
import sys
import threading

HEAD = ("Api-Version: 1.50\r\nDocker-Experimental: false\r\nOstype: linux\r\n"
        "Server: Docker/28.2.2 (linux)\r\n")
started = threading.Condition()
runs = {"started": 0}


def answer(c, status, extra="", body=b""):
    if body or status.startswith("200") or status.startswith("201"):
        extra += f"Content-Length: {len(body)}\r\n"
    c.sendall(f"HTTP/1.1 {status}\r\n{HEAD}{extra}\r\n".encode() + body)


def until_started(seen):
    with started:
        started.wait_for(lambda: runs["started"] > seen, timeout=10)


def request(c, buf):
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            return None, None, b""
        buf += d
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    while len(buf) < length:
        buf += c.recv(65536)
    return method, path, buf[length:]


def serve(c):
    buf = b""
    while True:
        method, path, buf = request(c, buf)
        if method is None:
            return
        seen = runs["started"]
        if path.endswith("/_ping"):
            answer(c, "200 OK", body=b"" if method == "HEAD" else b"OK")
        elif "/containers/create" in path:
            answer(c, "201 Created", "Content-Type: application/json\r\n",
                   b'{"Id":"' + b"0" * 64 + b'","Warnings":[]}')
        elif "/attach" in path:
            c.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker."
                      b"multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                      + HEAD.encode() + b"\r\n")
            until_started(seen)
            c.shutdown(socket.SHUT_WR)
            return
        elif "/wait" in path:
            c.sendall(b"HTTP/1.1 200 OK\r\n" + HEAD.encode() +
                      b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            until_started(seen)
            body = b'{"StatusCode":0}\n'
            c.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        elif path.endswith("/start"):
            answer(c, "204 No Content")
            with started:
                runs["started"] += 1
                started.notify_all()
        else:
            answer(c, "404 Not Found")


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(64)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
