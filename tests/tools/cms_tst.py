#!/usr/bin/env python3
"""cms_tst.py SIG.der VALUE.bin TOKEN.der

Reads a DER CMS SignedData (RFC 5652) with one SignerInfo and writes the signature value
(the SignerInfo's signature OCTET STRING contents) to VALUE.bin and the first
id-aa-signatureTimeStampToken unsigned attribute value (RFC 3161 appendix A) to TOKEN.der,
so that `openssl ts -verify -data VALUE.bin -in TOKEN.der -token_in` can judge it. A small
DER walker of its own, so the test does not lean on eseal's parser. Exit 1 if either is
missing."""
import sys

TST_OID = bytes.fromhex("060b2a864886f70d010910020e")  # 1.2.840.113549.1.9.16.2.14


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


def main():
    d = open(sys.argv[1], "rb").read()
    _, s, e = tlv(d, 0)  # ContentInfo
    kids = list(children(d, s, e))
    _, _, s, e = kids[1]  # [0] explicit
    _, s, e = tlv(d, s)  # SignedData
    sd = list(children(d, s, e))
    sis = sd[-1]  # SignerInfos SET
    si = list(children(d, sis[2], sis[3]))[0]
    fields = list(children(d, si[2], si[3]))
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
