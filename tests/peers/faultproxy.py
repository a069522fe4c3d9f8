#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A loopback HTTP forwarder (and forward proxy) that injects faults and counts what it sees.

Used two ways by the tests:
  - as the endpoint (reverse mode): requests in origin form ("POST / HTTP/1.1") go to --upstream,
    with the client's Host header kept, so a SigV4 signature made for this address still
    verifies upstream (moto and our mock check the Host the client signed);
  - as proxy=http://127.0.0.1:PORT (forward mode): requests in absolute form
    ("POST http://127.0.0.1:9/ HTTP/1.1") go to the host they name.
With --tls-cert/--tls-key it speaks TLS to clients (certificate made by the test), so the tests
can show an untrusted certificate fails at once and ca_file= fixes it.

Faults, set through POST /_fault with JSON {"mode": M, "count": N, "delay": S}; the next N
requests (-1: all) get mode M, later ones are forwarded untouched:
  delay         wait S seconds, then forward (a client with a shorter timeout gives up)
  reset         close the connection with a TCP reset, no answer
  close         close the connection with no answer (an empty reply)
  throttle      HTTP 400 {"__type": "ThrottlingException"} as AWS KMS throttles
  429           HTTP 429 Too Many Requests
  500           HTTP 500 {"__type": "KMSInternalException"}
  503           HTTP 503 Service Unavailable
  garbage_body  HTTP 200 with a body that is not JSON
  garbage_http  bytes that are not HTTP at all, then close
  denied        HTTP 400 {"__type": "AccessDeniedException"} (final: must not be retried)
  lost_answer   forward the request, then close with no answer (it was carried out: a retry
                must find its own earlier effect)
GET /_stats answers {"connections", "requests", "faulted", "tls_errors", "by_target"}: requests
counted by X-Amz-Target, or METHOD PATH when there is none; connections that carried a request,
failed the TLS handshake or closed without a request (not admin calls, not readiness probes). POST /_reset zeroes
them and clears the fault. Admin paths are never forwarded.

usage: faultproxy.py --port P [--upstream http://127.0.0.1:U] [--tls-cert C --tls-key K]
"""
import argparse
import http.client
import json
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse

HOP = {"connection", "proxy-connection", "keep-alive", "transfer-encoding", "te", "trailer",
       "upgrade", "proxy-authorization"}


class State:
    def __init__(self, upstream):
        self.lock = threading.Lock()
        self.upstream = upstream
        self.reset()

    def reset(self):
        self.fault = {"mode": None, "count": 0, "delay": 0.0}
        self.stats = {"connections": 0, "requests": 0, "faulted": 0, "tls_errors": 0,
                      "by_target": {}}

    def take_fault(self):
        with self.lock:
            f = self.fault
            if f["mode"] is None or f["count"] == 0:
                return None, 0
            if f["count"] > 0:
                f["count"] -= 1
            self.stats["faulted"] += 1
            return f["mode"], f["delay"]


STATE = None
TLS = None


def read_request(rf):
    line = rf.readline(65537)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3:
        raise ValueError("bad request line %r" % line)
    headers = []
    while True:
        h = rf.readline(65537)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    n = 0
    for name, value in headers:
        if name.lower() == "content-length":
            n = int(value)
    body = rf.read(n) if n else b""
    return parts[0], parts[1], parts[2], headers, body


def answer(sock, status, reason, body, ctype="application/json", close=False):
    head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
        status, reason, ctype, len(body), "Connection: close\r\n" if close else "")
    sock.sendall(head.encode() + body)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        # A connection that closes before sending a byte is a readiness probe: not counted.
        try:
            if not sock.recv(1, socket.MSG_PEEK):
                return
        except OSError:
            return
        if TLS is not None:
            try:
                sock = TLS.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                with STATE.lock:
                    STATE.stats["tls_errors"] += 1
                    STATE.stats["connections"] += 1
                return
        # Counted at its first request that is not for /_admin, or at its end if it carried no
        # request at all (a client that completed TLS, then refused the certificate's name).
        self.counted = self.admin_seen = False
        rf = sock.makefile("rb")
        try:
            while True:
                req = read_request(rf)
                if req is None:
                    return
                if not self.one(sock, *req):
                    return
        except (OSError, ValueError):
            return
        finally:
            if not self.counted and not self.admin_seen:
                with STATE.lock:
                    STATE.stats["connections"] += 1
            try:
                rf.close()
                sock.close()
            except OSError:
                pass

    def one(self, sock, method, target, version, headers, body):
        """Serve one request; False when the connection must end."""
        u = urllib.parse.urlsplit(target)
        path = u.path or "/"
        if path.startswith("/_") and not u.netloc:
            self.admin_seen = True
            return self.admin(sock, method, path, body)
        hmap = {k.lower(): v for k, v in headers}
        key = hmap.get("x-amz-target") or "%s %s" % (method, path)
        with STATE.lock:
            if not self.counted:
                STATE.stats["connections"] += 1
                self.counted = True
            STATE.stats["requests"] += 1
            STATE.stats["by_target"][key] = STATE.stats["by_target"].get(key, 0) + 1
        mode, delay = STATE.take_fault()
        if mode == "delay":
            time.sleep(delay)
        elif mode == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        elif mode == "close":
            return False
        elif mode == "throttle":
            answer(sock, 400, "Bad Request",
                   b'{"__type":"ThrottlingException","message":"Rate exceeded"}',
                   "application/x-amz-json-1.1")
            return True
        elif mode == "429":
            answer(sock, 429, "Too Many Requests", b"Too Many Requests", "text/plain")
            return True
        elif mode == "500":
            answer(sock, 500, "Internal Server Error",
                   b'{"__type":"KMSInternalException","message":"internal"}',
                   "application/x-amz-json-1.1")
            return True
        elif mode == "503":
            answer(sock, 503, "Service Unavailable", b"Service Unavailable", "text/plain")
            return True
        elif mode == "garbage_body":
            answer(sock, 200, "OK", b"\x00\x01<html>not json at all", "application/x-amz-json-1.1")
            return True
        elif mode == "garbage_http":
            sock.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\x00\xff\xfe garbage\r\n")
            return False
        elif mode == "denied":
            answer(sock, 400, "Bad Request",
                   b'{"__type":"AccessDeniedException","message":"not allowed"}',
                   "application/x-amz-json-1.1")
            return True
        elif mode == "lost_answer":
            self.forward(sock, method, u, headers, body, lose=True)
            return False
        return self.forward(sock, method, u, headers, body)

    def forward(self, sock, method, u, headers, body, lose=False):
        up = urllib.parse.urlsplit(u.geturl() if u.netloc else STATE.upstream)
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=60)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                if k.lower() not in HOP:
                    conn.putheader(k, v)
            conn.endheaders(body if body else None)
            r = conn.getresponse()
            data = r.read()
            if lose:
                return False
            out = ["HTTP/1.1 %d %s" % (r.status, r.reason)]
            for k, v in r.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    out.append("%s: %s" % (k, v))
            out.append("Content-Length: %d" % len(data))
            sock.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + data)
            return True
        except OSError as e:
            answer(sock, 502, "Bad Gateway", ("upstream: %s" % e).encode(), "text/plain", True)
            return False
        finally:
            conn.close()

    def admin(self, sock, method, path, body):
        if path == "/_stats":
            with STATE.lock:
                data = json.dumps(STATE.stats).encode()
            answer(sock, 200, "OK", data)
        elif path == "/_fault" and method == "POST":
            f = json.loads(body or b"{}")
            with STATE.lock:
                STATE.fault = {"mode": f.get("mode"), "count": int(f.get("count", -1)),
                               "delay": float(f.get("delay", 0))}
            answer(sock, 200, "OK", b"{}")
        elif path == "/_reset" and method == "POST":
            with STATE.lock:
                STATE.reset()
            answer(sock, 200, "OK", b"{}")
        else:
            answer(sock, 404, "Not Found", b"{}")
        return True


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global STATE, TLS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", default="")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    STATE = State(args.upstream)
    if args.tls_cert:
        TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        TLS.load_cert_chain(args.tls_cert, args.tls_key)
    srv = Server(("127.0.0.1", args.port), Handler)
    sys.stderr.write("faultproxy on 127.0.0.1:%d -> %s\n" % (args.port, args.upstream or "(forward)"))
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
