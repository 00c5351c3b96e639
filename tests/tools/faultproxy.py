#!/usr/bin/env python3
"""A reverse proxy that injects faults in front of a plain-HTTP registry (tests of `factory push`).

usage: faultproxy.py --port PORT --upstream http://HOST:PORT --log FILE [--fail RULE]...
                     [--listen ADDR] [--referrers]

Listens on ADDR:PORT (default 127.0.0.1; threaded, HTTP/1.1 keep-alive) and forwards every
request to the upstream: method, path and query, headers (Authorization included; hop-by-hop
headers and Expect are not forwarded, Host becomes the upstream's) and the body, streamed in
64 KiB pieces (Content-Length or chunked). The response comes back the same way, with its
status and headers (Location, Docker-Content-Digest, WWW-Authenticate, Range, ...). A
Location that points at the upstream (absolute URL) is rewritten to point at the proxy, as
the client addressed it (its Host header). One upstream connection per request.

RULE is  PATTERN=ACTION[xN][:OPTION[,OPTION...]]  (blanks before xN are allowed):
  PATTERN  a Python regular expression that must match the whole string "METHOD PATH",
           PATH including the query string, e.g. 'PUT /v2/.*/manifests/sha256:.*'
  ACTION   an HTTP status (e.g. 500, 429): the proxy answers it with a registry-style JSON
           error body and does not forward the request; or
           drop: the proxy reads the request and closes the connection without answering
  xN       only the first N matching requests get the fault, later ones are forwarded;
           without it, every matching request does
  OPTION   retry-after=SECONDS  (a Retry-After header on the injected answer)
           delay=SECONDS        (wait this long before answering or dropping)
Examples:  'PUT /v2/.*/manifests/.*=500x1'
           'PUT /v2/.*/blobs/uploads/.*=429x1:retry-after=1'
           'POST /v2/.*/blobs/uploads/.*=drop x1'
A request takes the first rule (in command-line order) that matches it and has faults left.
The request body is always read in full before a fault is injected.

--referrers adds the referrers API of distribution-spec 1.1 to a registry that has none
(Debian's distribution 2.8): a manifest PUT whose body has a "subject" is forwarded and, once
the upstream stored it, answered with an OCI-Subject header naming the subject and remembered;
GET /v2/<repo>/referrers/<digest> answers 200 with an image index of the descriptors
remembered for that subject (mediaType, digest, size, artifactType, annotations).

Control (not logged): GET /_proxy_ready -> 200.

Every other request is appended to the log as one JSON line:
  {"t": unix time the request line arrived, "t_end": unix time the answer was complete,
   "method", "path" (with the query), "status": the status returned to the client (null for
   a drop), "injected": whether the proxy made the answer up, "fault": "500"/"429"/"drop"/null,
   "rule": index of the rule (from 0) or null, "bytes_in": request body bytes,
   "bytes_out": response body bytes, "auth": whether an Authorization header was present
   (its value is never logged), "error": why the upstream could not be asked (status 502)}
"""

import argparse
import hashlib
import http.client
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, urlunsplit

CHUNK = 64 * 1024
# RFC 7230 6.1 hop-by-hop headers, plus the ones the proxy rewrites itself.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection"}
RULE_RE = re.compile(
    r"^(?P<pattern>.+?)=(?P<action>[1-5][0-9][0-9]|drop)\s*(?:x\s*(?P<count>[0-9]+))?"
    r"(?::(?P<options>.*))?$")
ERROR_CODES = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NAME_UNKNOWN", 429: "TOOMANYREQUESTS"}
MANIFEST_PUT_RE = re.compile(r"/v2/(?P<repo>.+)/manifests/[^/]+")
REFERRERS_RE = re.compile(r"/v2/(?P<repo>.+)/referrers/(?P<digest>sha256:[0-9a-f]{64})")
INDEX = "application/vnd.oci.image.index.v1+json"


class Rule:
    def __init__(self, text, index):
        m = RULE_RE.match(text)
        if not m:
            raise ValueError("'%s' is not PATTERN=STATUS|drop[xN][:options]" % text)
        self.text = text
        self.index = index
        self.pattern = re.compile(m.group("pattern"))
        self.action = m.group("action")
        self.left = int(m.group("count")) if m.group("count") is not None else None
        self.retry_after = None
        self.delay = 0.0
        for opt in filter(None, (m.group("options") or "").split(",")):
            key, _, value = opt.strip().partition("=")
            if key == "retry-after" and value:
                self.retry_after = value
            elif key == "delay" and value:
                self.delay = float(value)
            else:
                raise ValueError("rule '%s': unknown option '%s'" % (text, opt))


class State:
    def __init__(self, upstream, rules, log_path, referrers=False):
        self.upstream = upstream
        self.rules = rules
        self.log_path = log_path
        self.lock = threading.Lock()
        self.referrers = {} if referrers else None  # (repo, subject digest) -> {digest: descriptor}

    def add_referrer(self, repo, body):
        """The subject digest of a manifest just stored (remembered as its referrer), or None."""
        try:
            m = json.loads(body)
            subject = m["subject"]["digest"]
        except (ValueError, KeyError, TypeError):
            return None
        d = {"mediaType": m.get("mediaType"), "digest": "sha256:" + hashlib.sha256(body).hexdigest(),
             "size": len(body), "artifactType": m.get("artifactType") or m.get("config", {}).get("mediaType")}
        if m.get("annotations"):
            d["annotations"] = m["annotations"]
        with self.lock:
            self.referrers.setdefault((repo, subject), {})[d["digest"]] = d
        return subject

    def referrers_index(self, repo, subject):
        with self.lock:
            found = list(self.referrers.get((repo, subject), {}).values())
        return {"schemaVersion": 2, "mediaType": INDEX, "manifests": found}

    def pick(self, request_line):
        """The rule whose fault this request gets (its budget is used up atomically), or None."""
        with self.lock:
            for rule in self.rules:
                if rule.pattern.fullmatch(request_line) and (rule.left is None or rule.left > 0):
                    if rule.left is not None:
                        rule.left -= 1
                    return rule
        return None

    def log(self, record):
        line = json.dumps(record, sort_keys=True) + "\n"
        with self.lock:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line)


class ClientGone(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy/1"

    def log_message(self, fmt, *args):  # the JSON log says everything
        pass

    # ------------------------------------------------------------ request body

    def _body_chunks(self):
        """Yields the request body in pieces (Content-Length or chunked); b'' is never yielded."""
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ClientGone("client closed inside a chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                left = size
                while left:
                    data = self.rfile.read(min(CHUNK, left))
                    if not data:
                        raise ClientGone("client closed inside a chunk")
                    left -= len(data)
                    yield data
                self.rfile.readline(3)  # CRLF after the chunk
            return
        left = int(self.headers.get("Content-Length") or 0)
        while left > 0:
            data = self.rfile.read(min(CHUNK, left))
            if not data:
                raise ClientGone("client closed inside the body")
            left -= len(data)
            yield data

    def _has_body(self):
        return ("chunked" in self.headers.get("Transfer-Encoding", "").lower()
                or int(self.headers.get("Content-Length") or 0) > 0)

    # ------------------------------------------------------------ answers

    def _record(self, t0, status, injected, rule, bytes_in, bytes_out, error=None):
        rec = {"t": round(t0, 4), "t_end": round(time.time(), 4), "method": self.command,
               "path": self.path, "status": status, "injected": injected,
               "fault": rule.action if rule else None, "rule": rule.index if rule else None,
               "bytes_in": bytes_in, "bytes_out": bytes_out,
               "auth": self.headers.get("Authorization") is not None}
        if error:
            rec["error"] = error
        self.server.state.log(rec)

    def _answer(self, status, body, headers=()):
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        return 0 if self.command == "HEAD" else len(body)

    def _inject(self, t0, rule):
        bytes_in = sum(len(c) for c in self._body_chunks())
        if rule.delay:
            time.sleep(rule.delay)
        if rule.action == "drop":
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._record(t0, None, True, rule, bytes_in, 0)
            return
        status = int(rule.action)
        code = ERROR_CODES.get(status, "UNAVAILABLE" if status == 503 else "UNKNOWN")
        body = json.dumps({"errors": [{"code": code, "message": "injected by faultproxy (rule %d)"
                                       % rule.index, "detail": None}]}).encode() + b"\n"
        headers = [("Content-Type", "application/json; charset=utf-8"),
                   ("Docker-Distribution-API-Version", "registry/2.0")]
        if rule.retry_after is not None:
            headers.append(("Retry-After", rule.retry_after))
        sent = self._answer(status, body, headers)
        self._record(t0, status, True, rule, bytes_in, sent)

    def _rewrite_location(self, value):
        up = self.server.state.upstream
        parts = urlsplit(value)
        if parts.scheme and parts.netloc.lower() == up.netloc.lower():
            host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
            return urlunsplit(("http", host, parts.path, parts.query, parts.fragment))
        return value

    def _forward(self, t0):
        up = self.server.state.upstream
        bytes_in = bytes_out = 0
        put = self.command == "PUT" and MANIFEST_PUT_RE.fullmatch(urlsplit(self.path).path)
        captured = [] if put and self.server.state.referrers is not None else None
        conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=120)
        try:
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", up.netloc)
                chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
                for k, v in self.headers.items():
                    if k.lower() in HOP_BY_HOP or k.lower() in ("host", "expect"):
                        continue
                    conn.putheader(k, v)
                if chunked:
                    conn.putheader("Transfer-Encoding", "chunked")
                conn.endheaders()
            except OSError as e:
                # nothing reached the upstream: the client still gets an answer
                for c in self._body_chunks():
                    bytes_in += len(c)
                body = json.dumps({"errors": [{"code": "UNAVAILABLE",
                                               "message": "faultproxy: upstream: %s" % e}]}).encode()
                sent = self._answer(502, body, [("Content-Type", "application/json")])
                self._record(t0, 502, False, None, bytes_in, sent, error=str(e))
                return
            for c in self._body_chunks():
                bytes_in += len(c)
                if captured is not None:
                    captured.append(c)
                conn.send(b"%x\r\n%s\r\n" % (len(c), c) if chunked else c)
            if chunked:
                conn.send(b"0\r\n\r\n")
            resp = conn.getresponse()

            self.send_response_only(resp.status, resp.reason)
            if captured is not None and resp.status == 201:
                subject = self.server.state.add_referrer(put.group("repo"), b"".join(captured))
                if subject:
                    self.send_header("OCI-Subject", subject)
            length = resp.getheader("Content-Length")
            upstream_chunked = "chunked" in (resp.getheader("Transfer-Encoding") or "").lower()
            no_body = self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
            for k, v in resp.getheaders():
                lk = k.lower()
                if lk in HOP_BY_HOP:
                    continue
                if lk == "content-length" and upstream_chunked:
                    continue
                if lk == "location":
                    v = self._rewrite_location(v)
                self.send_header(k, v)
            to_chunk = not no_body and (length is None or upstream_chunked)
            if to_chunk:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if not no_body:
                while True:
                    data = resp.read(CHUNK)
                    if not data:
                        break
                    bytes_out += len(data)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if to_chunk else data)
                if to_chunk:
                    self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            self._record(t0, resp.status, False, None, bytes_in, bytes_out)
        finally:
            conn.close()

    # ------------------------------------------------------------ dispatch

    def _handle(self):
        t0 = time.time()
        if self.command == "GET" and urlsplit(self.path).path == "/_proxy_ready":
            self._answer(200, b"ready\n", [("Content-Type", "text/plain")])
            return
        try:
            rule = self.server.state.pick("%s %s" % (self.command, self.path))
            referrers = REFERRERS_RE.fullmatch(urlsplit(self.path).path)
            if rule:
                self._inject(t0, rule)
            elif referrers and self.command == "GET" and self.server.state.referrers is not None:
                index = self.server.state.referrers_index(referrers.group("repo"), referrers.group("digest"))
                sent = self._answer(200, json.dumps(index).encode(), [("Content-Type", INDEX)])
                self._record(t0, 200, False, None, 0, sent)
            else:
                self._forward(t0)
        except (ClientGone, ConnectionError, BrokenPipeError) as e:
            self.close_connection = True
            self._record(t0, None, False, None, 0, 0, error="client: %s" % e)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[3:]))
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--upstream", required=True, help="http://HOST:PORT of the registry")
    ap.add_argument("--log", required=True, help="JSON-lines request log (appended)")
    ap.add_argument("--fail", action="append", default=[], metavar="RULE")
    ap.add_argument("--referrers", action="store_true", help="answer the referrers API (see above)")
    args = ap.parse_args()
    upstream = urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname:
        ap.error("--upstream must be http://HOST[:PORT]")
    try:
        rules = [Rule(text, i) for i, text in enumerate(args.fail)]
    except (ValueError, re.error) as e:
        ap.error(str(e))
    server = Server((args.listen, args.port), Handler)
    server.state = State(upstream, rules, args.log, args.referrers)
    print("faultproxy: %s:%d -> %s; rules: %s" % (args.listen, args.port, args.upstream,
                                                 "; ".join(r.text for r in rules) or "none"),
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
