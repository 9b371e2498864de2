#!/usr/bin/env python3
"""Prints the "pyca" cases of kdf_vectors.txt: the FDO session KDF computed with pyca/cryptography's
generic SP 800-108 KBKDFHMAC (counter 8 bits before the fixed input, label "FIDO-KDF", separator
0x00, context "AutomaticOnboardTunnel" || ContextRand, [L]_2 at the end), so the parameters are
checked by a second implementation. Inputs come from a fixed seed. Run: python3 kdf_make_vectors.py
"""
import random

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode

CASES = [
    # name, prf, |ShSe|, |ContextRand|, L bits
    ("ASYMKEX2048-shaped, A128GCM", "SHA256", 32, 32, 128),
    ("ASYMKEX3072-shaped, AES256/CTR/HMAC-SHA384", "SHA384", 96, 96, 768),
    ("DHKEXid14-shaped, A256GCM", "SHA256", 256, 0, 256),
    ("DHKEXid15-shaped, AES128/CBC/HMAC-SHA256", "SHA256", 384, 0, 384),
    ("three SHA-256 blocks", "SHA256", 64, 16, 768),
]


def main():
    rng = random.Random(1108)
    for name, prf, shse_len, ctx_len, bits in CASES:
        shse = rng.randbytes(shse_len)
        ctx = rng.randbytes(ctx_len)
        alg = hashes.SHA256() if prf == "SHA256" else hashes.SHA384()
        out = KBKDFHMAC(algorithm=alg, mode=Mode.CounterMode, length=bits // 8, rlen=1, llen=2,
                        location=CounterLocation.BeforeFixed, label=b"FIDO-KDF",
                        context=b"AutomaticOnboardTunnel" + ctx, fixed=None).derive(shse)
        print()
        print(f"name = pyca {name}")
        print(f"prf = {prf}")
        print(f"shse = {shse.hex()}")
        print(f"context_rand = {ctx.hex()}")
        print(f"bits = {bits}")
        print(f"out = {out.hex()}")


if __name__ == "__main__":
    main()
