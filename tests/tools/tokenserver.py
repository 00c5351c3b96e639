#!/usr/bin/env python3
"""A tiny Docker registry token server (the "token" auth of the CNCF distribution registry).

usage: tokenserver.py --port PORT --users FILE --key KEY.pem --cert CERT.pem
                      --issuer ISSUER --service SERVICE
                      [--tls-cert CRT --tls-key KEY] [--ttl SECONDS]

Listens on 127.0.0.1:PORT (HTTP, or HTTPS with --tls-cert/--tls-key). The registry is
configured with auth.token {realm: <this server>/token, service: SERVICE, issuer: ISSUER,
rootcertbundle: CERT.pem}; on 401 it sends clients here
(WWW-Authenticate: Bearer realm="...",service="...",scope="...").

  GET  /token?service=S&scope=repository:NAME:pull,push[&scope=...][&account=U]
       HTTP basic auth required (no or wrong credentials -> 401 with
       WWW-Authenticate: Basic realm="tokenserver"); service must be SERVICE (else 400).
       -> 200 {"token": JWT, "access_token": JWT, "expires_in": TTL, "issued_at": ...}
  POST /token  (OAuth2 password grant, application/x-www-form-urlencoded)
       grant_type=password&username=U&password=P&service=S&scope=A%20B&client_id=C
       -> 200 {"access_token": JWT, "expires_in": TTL, "issued_at": ..., "scope": ...};
       wrong credentials -> 401 {"error": "invalid_grant"}; any other grant_type (e.g.
       refresh_token) -> 400 {"error": "unsupported_grant_type"}
  GET  /healthz -> 200 (not logged)

FILE has one user a line, "user:password:action,action" (actions the user may be granted
on any repository: pull, push, delete, *). Requested actions a user may not have are left
out of the token (as real token servers do); the registry then answers 401
insufficient_scope. Scopes of other types (registry:catalog:*) are granted only to users
with "*".

The JWT (RS256) is signed with KEY.pem; its header carries CERT.pem in "x5c" (the registry
verifies the chain against rootcertbundle = CERT.pem itself) and "kid" (the libtrust key
id of the public key). Claims: iss, sub (user), aud (service), exp, nbf, iat, jti, access.

One line per request on stderr (never credentials or tokens):
  token: METHOD PATH status=NNN user=U|- granted="repository:r:pull,push ..."|- (reason)
Needs python3-jwt and python3-cryptography (Debian).
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

LOG_LOCK = threading.Lock()


def log(line):
    with LOG_LOCK:
        sys.stderr.write("token: " + line + "\n")
        sys.stderr.flush()


def libtrust_kid(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


def parse_scope(s):
    """'repository:name:pull,push' -> (type, name, [actions]) or None"""
    typ, sep, rest = s.partition(":")
    if not sep:
        return None
    name, sep, actions = rest.rpartition(":")
    if not sep or not name:
        return None
    return typ, name, [a for a in actions.split(",") if a]


class Config:
    def __init__(self, args):
        self.users = {}
        with open(args.users) as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                user, password, actions = line.split(":", 2)
                self.users[user] = (password, set(a for a in actions.split(",") if a))
        with open(args.key, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        with open(args.cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.kid = libtrust_kid(cert.public_key())
        self.issuer = args.issuer
        self.service = args.service
        self.ttl = args.ttl

    def check(self, user, password):
        u = self.users.get(user)
        return u is not None and u[0] == password

    def grant(self, user, scopes):
        allowed = self.users[user][1]
        access = []
        for s in scopes:
            p = parse_scope(s)
            if p is None:
                continue
            typ, name, actions = p
            if typ == "repository":
                got = [a for a in actions if "*" in allowed or a in allowed]
            elif "*" in allowed:
                got = actions
            else:
                got = []
            if got:
                access.append({"type": typ, "name": name, "actions": got})
        return access

    def token(self, user, access):
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": user, "aud": self.service, "exp": now + self.ttl,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        tok = jwt.encode(claims, self.key, algorithm="RS256",
                         headers={"x5c": self.x5c, "kid": self.kid, "typ": "JWT"})
        issued = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        return tok, issued.strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_access(access):
    if not access:
        return "-"
    return '"' + " ".join("%s:%s:%s" % (a["type"], a["name"], ",".join(a["actions"]))
                          for a in access) + '"'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tokenserver/1"
    cfg = None  # type: Config

    def log_message(self, *args):  # the default access log goes to stderr; we write our own
        pass

    def reply(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def done(self, status, obj, user="-", access=None, why="", extra=None):
        self.reply(status, obj, extra)
        log("%s %s status=%d user=%s granted=%s%s" % (
            self.command, urlsplit(self.path).path, status, user or "-", fmt_access(access),
            " (%s)" % why if why else ""))

    def basic(self):
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "):
            return None, None
        try:
            raw = base64.b64decode(h[6:].strip(), validate=True).decode()
        except Exception:
            return None, None
        user, sep, password = raw.partition(":")
        return (user, password) if sep else (None, None)

    def do_GET(self):
        u = urlsplit(self.path)
        if u.path == "/healthz":
            self.reply(200, {"ok": True})
            return
        if u.path != "/token":
            self.done(404, {"error": "not found"}, why="unknown path")
            return
        q = parse_qs(u.query)
        user, password = self.basic()
        if user is None or not self.cfg.check(user, password):
            self.done(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                      user=user, why="no credentials" if user is None else "wrong credentials",
                      extra={"WWW-Authenticate": 'Basic realm="tokenserver"'})
            return
        if q.get("service", [""])[0] != self.cfg.service:
            self.done(400, {"errors": [{"code": "DENIED", "message": "unknown service"}]},
                      user=user, why="service %r" % q.get("service", [""])[0])
            return
        if q.get("account", [user])[0] != user:
            self.done(400, {"errors": [{"code": "DENIED", "message": "account mismatch"}]},
                      user=user, why="account")
            return
        access = self.cfg.grant(user, q.get("scope", []))
        tok, issued = self.cfg.token(user, access)
        self.done(200, {"token": tok, "access_token": tok, "expires_in": self.cfg.ttl,
                        "issued_at": issued}, user=user, access=access)

    def do_POST(self):
        u = urlsplit(self.path)
        if u.path != "/token":
            self.done(404, {"error": "not found"}, why="unknown path")
            return
        n = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(n).decode("utf-8", "replace"))
        f = lambda k: form.get(k, [""])[0]  # noqa: E731
        if f("grant_type") != "password":
            self.done(400, {"error": "unsupported_grant_type"}, why=f("grant_type"))
            return
        user = f("username")
        if not self.cfg.check(user, f("password")):
            self.done(401, {"error": "invalid_grant"}, user=user, why="wrong credentials")
            return
        if f("service") != self.cfg.service:
            self.done(400, {"error": "invalid_request"}, user=user, why="service")
            return
        scopes = " ".join(form.get("scope", [])).split()
        access = self.cfg.grant(user, scopes)
        tok, issued = self.cfg.token(user, access)
        self.done(200, {"access_token": tok, "expires_in": self.cfg.ttl, "issued_at": issued,
                        "scope": " ".join(scopes)}, user=user, access=access)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--users", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--ttl", type=int, default=300)
    args = ap.parse_args()
    Handler.cfg = Config(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    log("listening on %s://127.0.0.1:%d (pid %d)" % (
        "https" if args.tls_cert else "http", args.port, os.getpid()))
    srv.serve_forever()


if __name__ == "__main__":
    main()
