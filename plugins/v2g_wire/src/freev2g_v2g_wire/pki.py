"""Test PKI for TLS and Plug & Charge, made with the openssl command line (`make pki`).

Per protocol generation a folder with the chains ISO 15118-2 / -20 use (three levels below
each root):

* V2G: V2GRootCA -> CPOSubCA1 -> CPOSubCA2 -> SECCCert (the SECC's TLS certificate)
* OEM: OEMRootCA -> OEMSubCA1 -> OEMSubCA2 -> OEMProvCert (-20: also the EVCC's TLS
  certificate for mutual TLS [verify])
* MO (contract): MORootCA -> MOSubCA1 -> MOSubCA2 -> ContractCert (CN = the eMAID)

iso2/: ECDSA on secp256r1 with SHA-256 (ISO 15118-2). iso20/: ECDSA on secp521r1 with SHA-512
(ISO 15118-20 also allows Ed448) [verify]. Files: <name>.key (mode 0600), <name>.pem, and
<leaf>_chain.pem (leaf, sub-CA 2, sub-CA 1) for TLS. Keys are test keys: the folder is
git-ignored and nothing here may be committed or used outside tests.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from attrs import frozen

PROFILES = {"iso2": ("prime256v1", "sha256"), "iso20": ("secp521r1", "sha512")}
EMAID = "DEFRE0000000001"
CA_DAYS, LEAF_DAYS = 3650, 365


class PkiError(RuntimeError):
    pass


@frozen
class Cert:
    name: str
    cn: str
    issuer: str | None  # None: self-signed root
    kind: str  # "root", "sub1", "sub2", "leaf"


CHAINS = (
    (Cert("V2GRootCA", "freev2g test V2G Root CA", None, "root"),
     Cert("CPOSubCA1", "freev2g test CPO Sub-CA 1", "V2GRootCA", "sub1"),
     Cert("CPOSubCA2", "freev2g test CPO Sub-CA 2", "CPOSubCA1", "sub2"),
     Cert("SECCCert", "DEFRE00001", "CPOSubCA2", "leaf")),
    (Cert("OEMRootCA", "freev2g test OEM Root CA", None, "root"),
     Cert("OEMSubCA1", "freev2g test OEM Sub-CA 1", "OEMRootCA", "sub1"),
     Cert("OEMSubCA2", "freev2g test OEM Sub-CA 2", "OEMSubCA1", "sub2"),
     Cert("OEMProvCert", "FREEV2GPCID00001", "OEMSubCA2", "leaf")),
    (Cert("MORootCA", "freev2g test MO Root CA", None, "root"),
     Cert("MOSubCA1", "freev2g test MO Sub-CA 1", "MORootCA", "sub1"),
     Cert("MOSubCA2", "freev2g test MO Sub-CA 2", "MOSubCA1", "sub2"),
     Cert("ContractCert", EMAID, "MOSubCA2", "leaf")),
)

EXTENSIONS = {
    "root": "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
            "subjectKeyIdentifier=hash\n",
    "sub1": "basicConstraints=critical,CA:TRUE,pathlen:1\nkeyUsage=critical,keyCertSign,cRLSign\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    "sub2": "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    "leaf": "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
}


def _openssl(*args: str) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise PkiError("the test PKI needs the openssl command (apt-get install openssl)")
    proc = subprocess.run([exe, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PkiError(f"openssl {' '.join(args[:2])} failed: {proc.stderr.strip()}")


def _make(folder: Path, cert: Cert, curve: str, digest: str, work: Path) -> None:
    key, pem = folder / f"{cert.name}.key", folder / f"{cert.name}.pem"
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}",
             "-pkeyopt", "ec_param_enc:named_curve", "-out", str(key))
    os.chmod(key, 0o600)
    ext = work / f"{cert.name}.ext"
    ext.write_text(EXTENSIONS[cert.kind])
    subject = f"/CN={cert.cn}/O=freev2g test/C=DE" + ("/DC=CPO" if cert.name.startswith("CPO") else "")
    days = str(LEAF_DAYS if cert.kind == "leaf" else CA_DAYS)
    if cert.issuer is None:
        _openssl("req", "-new", "-x509", "-key", str(key), "-subj", subject, f"-{digest}", "-days", days,
                 "-extensions", "v3", "-config", str(_req_config(work, ext)), "-out", str(pem))
        return
    csr = work / f"{cert.name}.csr"
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(folder / f"{cert.issuer}.pem"),
             "-CAkey", str(folder / f"{cert.issuer}.key"), "-CAcreateserial", "-CAserial",
             str(work / f"{cert.issuer}.srl"), f"-{digest}", "-days", days, "-extfile", str(ext), "-out", str(pem))


def _req_config(work: Path, ext: Path) -> Path:
    cfg = work / "req.cnf"
    cfg.write_text("[req]\ndistinguished_name=dn\n[dn]\n[v3]\n" + ext.read_text())
    return cfg


def make_pki(out: Path | str, *, force: bool = False) -> list[Path]:
    """Write both profiles under `out`; keeps an existing complete PKI unless `force`."""
    out = Path(out)
    written: list[Path] = []
    for profile, (curve, digest) in PROFILES.items():
        folder = out / profile
        if not force and all((folder / f"{c.name}.pem").is_file() for chain in CHAINS for c in chain):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        with tempfile.TemporaryDirectory() as tmp:
            for chain in CHAINS:
                for cert in chain:
                    _make(folder, cert, curve, digest, Path(tmp))
                leaf, sub2, sub1 = chain[3], chain[2], chain[1]
                bundle = folder / f"{leaf.name}_chain.pem"
                bundle.write_text("".join((folder / f"{c.name}.pem").read_text() for c in (leaf, sub2, sub1)))
        written.append(folder)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="make the freev2g test PKI (test keys, never for production)")
    parser.add_argument("out", nargs="?", default="build/pki")
    parser.add_argument("--force", action="store_true", help="make new keys even if a PKI exists")
    args = parser.parse_args(argv)
    try:
        written = make_pki(args.out, force=args.force)
    except PkiError as exc:
        print(f"make pki: {exc}", file=sys.stderr)
        return 1
    print(f"test PKI in {args.out}: " + (", ".join(str(p) for p in written) + " written" if written else "up to date"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
