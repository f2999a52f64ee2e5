#!/usr/bin/env python3
"""cms_tst.py SIG.der VALUE.bin TOKEN.der
cms_tst.py --signer SIG.der DIR

Reads a DER CMS SignedData (RFC 5652) with one SignerInfo and writes the signature value
(the SignerInfo's signature OCTET STRING contents) to VALUE.bin and the first
id-aa-signatureTimeStampToken unsigned attribute value (RFC 3161 appendix A) to TOKEN.der,
so that `openssl ts -verify -data VALUE.bin -in TOKEN.der -token_in` can judge it. A small
DER walker of its own, so the test does not lean on eseal's parser. Exit 1 if either is
missing.

With --signer, writes what a hand check of the SignerInfo needs into DIR: attrs.der, the
signed attributes as they are signed (RFC 5652 5.4: the [0] IMPLICIT tag 0xA0 retagged as
SET OF, 0x31), value.bin (the signature value), md.bin (the message-digest attribute's
value), digest_alg.der and sig_alg.der (the digestAlgorithm and signatureAlgorithm
AlgorithmIdentifiers, DER). Exit 1 if the SignerInfo has no signed attributes."""
import os
import sys

TST_OID = bytes.fromhex("060b2a864886f70d010910020e")  # 1.2.840.113549.1.9.16.2.14
MD_OID = bytes.fromhex("06092a864886f70d010904")  # 1.2.840.113549.1.9.4 message-digest


def tlv(d, i):
    tag = d[i]
    n = d[i + 1]
    j = i + 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(d[j:j + k], "big")
        j += k
    return tag, j, j + n  # tag, start of contents, end


def children(d, start, end):
    i = start
    while i < end:
        tag, s, e = tlv(d, i)
        yield tag, i, s, e
        i = e


def signer_fields(d):
    """The fields of the one SignerInfo: (tag, start, contents start, end) each."""
    _, s, e = tlv(d, 0)  # ContentInfo
    kids = list(children(d, s, e))
    _, _, s, e = kids[1]  # [0] explicit
    _, s, e = tlv(d, s)  # SignedData
    sd = list(children(d, s, e))
    sis = sd[-1]  # SignerInfos SET
    si = list(children(d, sis[2], sis[3]))[0]
    return list(children(d, si[2], si[3]))


def signer_parts(path, out):
    d = open(path, "rb").read()
    fields = signer_fields(d)
    # version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature, [1] ...
    attrs = [f for f in fields if f[0] == 0xA0]
    if not attrs:
        print("the SignerInfo has no signed attributes", file=sys.stderr)
        sys.exit(1)
    tag, i, s, e = attrs[0]
    k = fields.index(attrs[0])
    md = None
    for _, ai, as_, ae in children(d, s, e):
        parts = list(children(d, as_, ae))
        if d[parts[0][1]:parts[0][3]] == MD_OID:
            vals = list(children(d, parts[1][2], parts[1][3]))
            md = d[vals[0][2]:vals[0][3]]
    files = {
        "attrs.der": b"\x31" + d[i + 1:e],
        "value.bin": next(d[f[2]:f[3]] for f in fields if f[0] == 0x04),
        "md.bin": md or b"",
        "digest_alg.der": d[fields[k - 1][1]:fields[k - 1][3]],
        "sig_alg.der": d[fields[k + 1][1]:fields[k + 1][3]],
    }
    for name, data in files.items():
        open(os.path.join(out, name), "wb").write(data)


def main():
    if sys.argv[1] == "--signer":
        signer_parts(sys.argv[2], sys.argv[3])
        return
    d = open(sys.argv[1], "rb").read()
    fields = signer_fields(d)
    value = token = None
    for idx, (tag, i, s, e) in enumerate(fields):
        if tag == 0x04:
            value = d[s:e]
        if tag == 0xA1:
            for _, ai, as_, ae in children(d, s, e):
                parts = list(children(d, as_, ae))
                if d[parts[0][1]:parts[0][3]] == TST_OID and token is None:
                    vals = list(children(d, parts[1][2], parts[1][3]))
                    token = d[vals[0][1]:vals[0][3]]
    if value is None or token is None:
        print("no signature value or no signature time-stamp", file=sys.stderr)
        sys.exit(1)
    open(sys.argv[2], "wb").write(value)
    open(sys.argv[3], "wb").write(token)


main()
