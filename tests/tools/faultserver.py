#!/usr/bin/env python3
"""A Maven repository over HTTP/1.1 that misbehaves on purpose (tests of `factory fetch`).

usage: faultserver.py --port PORT --root DIR --log FILE [--ready-file FILE]

Serves the Maven layout in DIR on 127.0.0.1:PORT (threaded, keep-alive, Content-Length on
every response). The first path component picks the behaviour; the rest is the path inside
DIR, so a repository URL is http://127.0.0.1:PORT/MODE/ (".jar" below stands for any artifact
a build downloads whole: .jar, .whl and .tar.gz):

  ok            plain static files, Accept-Ranges: bytes, Range -> 206
  drop          first GET of each .jar: headers (full Content-Length) and half the body,
                then the connection is closed; later GETs are like ok (Range honoured)
  drop-norange  like drop, but Accept-Ranges is never sent and Range is ignored (always 200)
  flaky         first request for each path: 500, then like ok
  ratelimit     first request for each path: 429 with Retry-After: 2, then like ok
  badsum        the files as in ok, but .sha1/.sha256/.sha512 are digests of other content
                (served for every jar, whether or not DIR has the sidecar)
  unauthorized  401 with WWW-Authenticate: Basic for everything
  forbidden     403 for everything
  missing       404 for everything
  redirect      302 for .jar to http://localhost:PORT/ok/<same path> (another host for an
                HTTP client: credentials must not follow); other files as in ok
  auth          like ok, but requires HTTP basic auth fetcher / s3cret-p4ss, else 401
  huge          .jar: Content-Length 2 GiB, then zeros for as long as the client reads
  endless       .jar: no Content-Length (the body ends when the connection does): the jar,
                then zeros for as long as the client reads
  trickle       .jar: full Content-Length, then the body at 4 bytes per second
  slowheaders   .jar: the status line and headers at one byte per 0.5 s
  tricklesum    .sha512: trickled like trickle; everything else as in ok

A minimal OCI registry (GET only) serves the image layout in DIR/oci: /v2/ -> 200, any tag
or digest of /v2/<name>/manifests/ -> the layout's first manifest (or that digest's blob),
/v2/<name>/blobs/<digest> -> the blob, except that a blob whose digest is listed in
DIR/endless-blobs (one "sha256:..." a line) is sent without Content-Length and followed by
zeros for as long as the client reads.

Control (not logged): GET /healthz -> 200; GET or POST /_reset forgets which paths were
already requested (the "first request" state of drop, flaky, ratelimit).

Every other request is appended to the log as one JSON line:
  {"t": unix time, "method", "path", "status", "range": Range header or null,
   "auth": whether an Authorization header was present (its value is never logged),
   "host": Host header, "bytes": body bytes sent}
"""

import argparse
import base64
import hashlib
import json
import os
import posixpath
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

AUTH_USER = "fetcher"
AUTH_PASSWORD = "s3cret-p4ss"
MODES = {"ok", "drop", "drop-norange", "flaky", "ratelimit", "badsum", "unauthorized",
         "forbidden", "missing", "redirect", "auth", "huge", "endless", "trickle", "slowheaders",
         "tricklesum"}
SIDECARS = {".sha1": hashlib.sha1, ".sha256": hashlib.sha256, ".sha512": hashlib.sha512}


class State:
    def __init__(self, root, log_path):
        self.root = os.path.realpath(root)
        self.log_path = log_path
        self.lock = threading.Lock()
        self.seen = set()  # (mode, path) already requested once

    def first(self, key):
        """True the first time key is seen (atomically)."""
        with self.lock:
            if key in self.seen:
                return False
            self.seen.add(key)
            return True

    def reset(self):
        with self.lock:
            self.seen.clear()

    def log(self, record):
        line = json.dumps(record, sort_keys=True) + "\n"
        with self.lock:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultserver/1"

    # ------------------------------------------------------------ plumbing

    def log_message(self, fmt, *args):  # quiet: the JSON log says everything
        pass

    def _record(self, status, sent):
        st = self.server.state
        st.log({
            "t": round(time.time(), 3),
            "method": self.command,
            "path": self.path,
            "status": status,
            "range": self.headers.get("Range"),
            "auth": self.headers.get("Authorization") is not None,
            "host": self.headers.get("Host"),
            "bytes": sent,
        })

    def _send(self, status, body=b"", headers=(), log=True, close=False):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()
        if log:
            self._record(status, 0 if self.command == "HEAD" else len(body))

    def _error(self, status, headers=()):
        body = ("%d %s\n" % (status, self.responses.get(status, ("",))[0])).encode()
        self._send(status, body, [("Content-Type", "text/plain")] + list(headers))

    def _file(self, rel):
        """Bytes of rel inside the root, or None."""
        rel = posixpath.normpath("/" + rel).lstrip("/")
        full = os.path.realpath(os.path.join(self.server.state.root, rel))
        if not (full == self.server.state.root or full.startswith(self.server.state.root + os.sep)):
            return None
        if not os.path.isfile(full):
            return None
        with open(full, "rb") as f:
            return f.read()

    def _serve(self, data, ranges=True):
        """200, or 206/416 for a Range request when ranges is true."""
        headers = [("Content-Type", "application/octet-stream")]
        if ranges:
            headers.append(("Accept-Ranges", "bytes"))
        spec = self.headers.get("Range")
        if ranges and spec:
            m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", spec)
            total = len(data)
            if not m or (m.group(1) == "" and m.group(2) == ""):
                return self._send(416, b"", headers + [("Content-Range", "bytes */%d" % total)])
            if m.group(1) == "":
                start, end = max(0, total - int(m.group(2))), total - 1
            else:
                start = int(m.group(1))
                end = min(int(m.group(2)), total - 1) if m.group(2) else total - 1
            if start >= total or start > end:
                return self._send(416, b"", headers + [("Content-Range", "bytes */%d" % total)])
            return self._send(206, data[start:end + 1],
                              headers + [("Content-Range", "bytes %d-%d/%d" % (start, end, total))])
        return self._send(200, data, headers)

    def _drop(self, data, ranges):
        """Full headers, half the body, then the connection goes away."""
        half = len(data) // 2
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if ranges:
            self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:half])
        self.wfile.flush()
        self.close_connection = True
        self._record(200, half)
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _zeros_forever(self, sent):
        """Zeros until the client goes away (or a safety cap of 8 GiB)."""
        chunk = b"\0" * 65536
        try:
            while sent < (8 << 30):
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass
        self.close_connection = True
        return sent

    def _huge(self, data):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(2 << 30))
        self.end_headers()
        sent = 0
        try:
            self.wfile.write(data)
            sent = len(data)
        except OSError:
            pass
        self._record(200, self._zeros_forever(sent))

    def _endless(self, data, content_type="application/octet-stream"):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        try:
            self.wfile.write(data)
            sent = len(data)
        except OSError:
            pass
        self._record(200, self._zeros_forever(sent))

    def _trickle(self, data):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        sent = 0
        try:
            for i in range(0, len(data), 4):
                self.wfile.write(data[i:i + 4])
                self.wfile.flush()
                sent += len(data[i:i + 4])
                time.sleep(1)
        except OSError:
            pass
        self.close_connection = True
        self._record(200, sent)

    def _slow_headers(self, data):
        head = ("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                "Content-Length: %d\r\n\r\n" % len(data)).encode()
        try:
            for i in range(len(head)):
                self.wfile.write(head[i:i + 1])
                self.wfile.flush()
                time.sleep(0.5)
            self.wfile.write(data)
        except OSError:
            pass
        self.close_connection = True
        self._record(200, len(data))

    def _registry(self, path):
        root = os.path.join(self.server.state.root, "oci")
        if path in ("/v2", "/v2/"):
            return self._send(200, b"{}", [("Content-Type", "application/json")])
        m = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", path)
        if not m:
            return self._error(404)
        kind, ref = m.group(2), m.group(3)
        if kind == "manifests" and not ref.startswith("sha256:"):
            with open(os.path.join(root, "index.json"), "rb") as f:
                ref = json.load(f)["manifests"][0]["digest"]
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", ref):
            return self._error(404)
        blob = os.path.join(root, "blobs", "sha256", ref[7:])
        if not os.path.isfile(blob):
            return self._error(404)
        with open(blob, "rb") as f:
            data = f.read()
        endless = set()
        try:
            with open(os.path.join(self.server.state.root, "endless-blobs")) as f:
                endless = {l.strip() for l in f if l.strip()}
        except OSError:
            pass
        if kind == "manifests":
            media = json.loads(data).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
            return self._send(200, data, [("Content-Type", media), ("Docker-Content-Digest", ref)])
        if ref in endless and self.command == "GET":
            return self._endless(data)
        return self._send(200, data, [("Content-Type", "application/octet-stream")])

    # ------------------------------------------------------------ dispatch

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        if urlsplit(self.path).path == "/_reset":
            self.server.state.reset()
            return self._send(200, b"reset\n", log=False)
        self._error(405)

    def do_GET(self):
        st = self.server.state
        path = unquote(urlsplit(self.path).path)
        if path == "/healthz":
            return self._send(200, b"ok\n", log=False)
        if path == "/_reset":
            st.reset()
            return self._send(200, b"reset\n", log=False)
        if path == "/v2" or path.startswith("/v2/"):
            return self._registry(path)
        parts = path.lstrip("/").split("/", 1)
        mode, rel = parts[0], (parts[1] if len(parts) > 1 else "")
        if mode not in MODES:
            return self._error(404)
        # what the modes below call a jar: any artifact a build downloads whole
        is_jar = rel.endswith((".jar", ".whl", ".tar.gz"))

        if mode == "unauthorized":
            return self._error(401, [("WWW-Authenticate", 'Basic realm="faults"')])
        if mode == "forbidden":
            return self._error(403)
        if mode == "missing":
            return self._error(404)
        if mode == "auth":
            want = "Basic " + base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode()
            if self.headers.get("Authorization") != want:
                return self._error(401, [("WWW-Authenticate", 'Basic realm="faults"')])
        if mode == "flaky" and st.first((mode, rel, self.command)):
            return self._error(500)
        if mode == "ratelimit" and st.first((mode, rel, self.command)):
            return self._error(429, [("Retry-After", "2")])
        if mode == "redirect" and is_jar:
            port = self.server.server_address[1]
            return self._send(302, b"", [("Location", "http://localhost:%d/ok/%s" % (port, rel))])

        if mode == "badsum":
            ext = posixpath.splitext(rel)[1]
            if ext in SIDECARS:
                jar = self._file(rel[: -len(ext)])
                if jar is None:
                    return self._error(404)
                other = SIDECARS[ext](jar + b"\0not the jar you fetched").hexdigest()
                return self._serve((other + "\n").encode())

        data = self._file(rel)
        if data is None:
            return self._error(404)
        if mode == "tricklesum" and rel.endswith(".sha512") and self.command == "GET":
            return self._trickle(data)
        if self.command == "GET" and is_jar and mode in ("huge", "endless", "trickle", "slowheaders"):
            return {"huge": self._huge, "endless": self._endless, "trickle": self._trickle,
                    "slowheaders": self._slow_headers}[mode](data)
        if mode in ("drop", "drop-norange"):
            ranges = mode == "drop"
            if is_jar and self.command == "GET" and st.first((mode, rel, "GET")):
                return self._drop(data, ranges)
            return self._serve(data, ranges=ranges)
        return self._serve(data)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True, help="Maven-layout directory to serve")
    ap.add_argument("--log", required=True, help="JSON-lines request log (appended)")
    ap.add_argument("--ready-file", help="written once the socket is listening")
    args = ap.parse_args()
    if not os.path.isdir(args.root):
        sys.exit("faultserver: %s is not a directory" % args.root)
    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args.root, args.log)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % args.port)
        os.replace(tmp, args.ready_file)
    print("faultserver: serving %s on 127.0.0.1:%d" % (args.root, args.port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
