#!/usr/bin/env python3
"""OpenSSL's own TSA (`openssl ts -reply`) behind a small HTTP server, so that eseal's RFC 3161
client is tried against an implementation other than ours, and against answers that must be
refused. Test-only.

    openssl_tsa.py --pki DIR --dir WORKDIR --port-file F

Listens on a free loopback port (written to F) and answers POST application/timestamp-query:
  /tsa          openssl ts -reply, honest
  /bad-imprint  the query's imprint changed before it is answered (the nonce kept)
  /bad-nonce    the query's nonce changed before it is answered (the imprint kept)
  /reject       a rejection (badRequest) with the text "test TSA refuses"
  /not-tsa      the honest token's TSTInfo signed again by a certificate that is not a TSA's
"""
import argparse
import http.server
import os
import subprocess

MAX_QUERY = 8192


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def tlv(d, i):
    """(tag, content start, content end) of the element at d[i]."""
    tag, n = d[i], d[i + 1]
    j = i + 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(d[j:j + k], "big")
        j += k
    return tag, j, j + n


def fields(q):
    """Offsets in a DER TimeStampReq: (imprint digest start, end), (nonce start, end) or None."""
    _, s, e = tlv(q, 0)
    _, vs, ve = tlv(q, s)  # version
    _, ms, me = tlv(q, ve)  # messageImprint
    _, as_, ae = tlv(q, ms)  # hashAlgorithm
    _, ds, de = tlv(q, ae)  # hashedMessage
    i, nonce = me, None
    while i < e:
        tag, cs, ce = tlv(q, i)
        if tag == 0x02:
            nonce = (cs, ce)
        i = ce
    return (ds, de), nonce


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def answer(self, code, body, ctype="application/timestamp-reply"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    def reply(self, query):
        w = self.server.work
        with open(os.path.join(w, "q.tsq"), "wb") as f:
            f.write(query)
        self.openssl("ts", "-reply", "-config", os.path.join(w, "tsa.cnf"), "-queryfile",
                     os.path.join(w, "q.tsq"), "-out", os.path.join(w, "r.tsr"))
        with open(os.path.join(w, "r.tsr"), "rb") as f:
            return f.read()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n <= 0 or n > MAX_QUERY:
            return self.answer(413, b"too large\n", "text/plain")
        q = bytearray(self.rfile.read(n))
        try:
            if self.path == "/tsa":
                return self.answer(200, self.reply(bytes(q)))
            if self.path == "/bad-imprint":
                (ds, de), _ = fields(q)
                q[de - 1] ^= 0x01
                return self.answer(200, self.reply(bytes(q)))
            if self.path == "/bad-nonce":
                _, (ns, ne) = fields(q)
                q[ne - 1] ^= 0x01
                return self.answer(200, self.reply(bytes(q)))
            if self.path == "/reject":
                status = der(0x30, der(0x02, b"\x02") + der(0x30, der(0x0C, b"test TSA refuses"))
                             + der(0x03, b"\x05\x20"))
                return self.answer(200, der(0x30, status))
            if self.path == "/not-tsa":
                w, pki = self.server.work, self.server.pki
                r = self.reply(bytes(q))
                with open(os.path.join(w, "r.tsr"), "wb") as f:
                    f.write(r)
                self.openssl("ts", "-reply", "-in", os.path.join(w, "r.tsr"), "-token_out",
                             "-out", os.path.join(w, "tok.der"))
                self.openssl("cms", "-verify", "-noverify", "-binary", "-inform", "DER", "-in",
                             os.path.join(w, "tok.der"), "-out", os.path.join(w, "tst.der"))
                self.openssl("cms", "-sign", "-binary", "-nodetach", "-md", "sha256",
                             "-econtent_type", "id-smime-ct-TSTInfo", "-in",
                             os.path.join(w, "tst.der"), "-signer",
                             os.path.join(pki, "rsa2048.pem"), "-inkey",
                             os.path.join(pki, "rsa2048.key"), "-outform", "DER", "-out",
                             os.path.join(w, "tok2.der"))
                with open(os.path.join(w, "tok2.der"), "rb") as f:
                    tok = f.read()
                return self.answer(200, der(0x30, der(0x30, der(0x02, b"\x00")) + tok))
            return self.answer(404, b"no such TSA\n", "text/plain")
        except (subprocess.CalledProcessError, IndexError, TypeError) as e:
            return self.answer(500, (str(e) + "\n").encode(), "text/plain")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pki", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    pki, work = os.path.abspath(a.pki), os.path.abspath(a.dir)
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "serial"), "w") as f:
        f.write("01\n")
    with open(os.path.join(work, "tsa.cnf"), "w") as f:
        f.write(f"""[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
serial = {work}/serial
crypto_device = builtin
signer_cert = {pki}/tsa.pem
certs = {pki}/issuing-ca.pem
signer_key = {pki}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")
    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    srv.pki, srv.work = pki, work
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
