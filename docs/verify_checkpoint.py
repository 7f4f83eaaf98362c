#!/usr/bin/env python3
"""Checks Coprod's signed checkpoints without Coprod: see docs/checkpoints.md.

Usage:
  python3 verify_checkpoint.py --vectors checkpoint_vectors.json
      checks the published test vectors: every root, proof and signature in them.
  python3 verify_checkpoint.py --public-key KEY checkpoint.json [--proof head_proof.json]
          [--trail trail.ndjson] [--earlier checkpoint.json --consistency proof.json]
      checks a checkpoint's signature (KEY: 64 hex digits, or a file holding them); with --proof,
      the project head it proves (checkpoint.json may also be a bundle {"checkpoint", "proof"},
      as GET /api/v1/checkpoints/{n}/projects/{id}/proof answers: then --proof is not needed); with --trail as well, that the exported trail still holds that
      head (not truncated, rewritten or rolled back); with --earlier and --consistency, that the
      checkpoint's log extends an earlier checkpoint's.

Exit 0 when everything checked holds; 1, after saying what failed, otherwise.
Python's standard library only: Ed25519 verification is RFC 8032's reference code (section 6),
marked below.
"""
import hashlib
import json
import os
import sys

FORMAT = "coprod-checkpoint-v1"

# ---- RFC 8032 section 6: Ed25519 reference code (verification and public key derivation) ------
# Taken from the RFC's Python, unchanged in substance; not constant-time, which does not matter
# for checking public signatures.

p = 2**255 - 19
d = -121665 * pow(121666, -1, p) % p
q = 2**252 + 27742317777372353535851937790883648493
modp_sqrt_m1 = pow(2, (p - 1) // 4, p)


def point_add(P, Q):
    A, B = (P[1] - P[0]) * (Q[1] - Q[0]) % p, (P[1] + P[0]) * (Q[1] + Q[0]) % p
    C, D = 2 * P[3] * Q[3] * d % p, 2 * P[2] * Q[2] % p
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F, G * H, F * G, E * H)


def point_mul(s, P):
    Q = (0, 1, 1, 0)  # the neutral element
    while s > 0:
        if s & 1:
            Q = point_add(Q, P)
        P = point_add(P, P)
        s >>= 1
    return Q


def point_equal(P, Q):
    if (P[0] * Q[2] - Q[0] * P[2]) % p != 0:
        return False
    return (P[1] * Q[2] - Q[1] * P[2]) % p == 0


def recover_x(y, sign):
    if y >= p:
        return None
    x2 = (y * y - 1) * pow(d * y * y + 1, -1, p) % p
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (p + 3) // 8, p)
    if (x * x - x2) % p != 0:
        x = x * modp_sqrt_m1 % p
    if (x * x - x2) % p != 0:
        return None
    if (x & 1) != sign:
        x = p - x
    return x


g_y = 4 * pow(5, -1, p) % p
g_x = recover_x(g_y, 0)
G = (g_x, g_y, 1, g_x * g_y % p)


def point_compress(P):
    zinv = pow(P[2], -1, p)
    x, y = P[0] * zinv % p, P[1] * zinv % p
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def point_decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % p)


def secret_to_public(secret):
    h = hashlib.sha512(secret).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return point_compress(point_mul(a, G))


def ed25519_verify(public, msg, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    A = point_decompress(public)
    R = point_decompress(signature[:32])
    if A is None or R is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + msg).digest(), "little") % q
    return point_equal(point_mul(s, G), point_add(R, point_mul(h, A)))

# ---- end of RFC 8032 reference code --------------------------------------------------------------


# ---- RFC 9162 Merkle trees (section 2.1) --------------------------------------------------------

def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(leaf):
    return sha256(b"\x00" + leaf)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def root(leaf_hashes):
    """MTH: the empty tree hashes to SHA-256 of nothing; n > 1 leaves split at the largest power
    of two below n."""
    n = len(leaf_hashes)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(root(leaf_hashes[:k]), root(leaf_hashes[k:]))


def verify_inclusion(leaf, index, size, path, expected_root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p_ in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p_, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p_)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(old_size, new_size, old_root, new_root, path):
    """RFC 9162 section 2.1.4.2; an empty old tree must have the empty tree's hash, and equal
    sizes need equal roots, both with no hashes."""
    if old_size > new_size:
        return False
    if old_size == 0 or old_size == new_size:
        expected = sha256(b"") if old_size == 0 else new_root
        return not path and old_root == expected
    if not path:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: the old root starts the proof
        path = [old_root] + list(path)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# ---- Coprod's leaves, checkpoints and proofs ----------------------------------------------------

def canonical(value):
    # Sorted keys, no whitespace, UTF-8, as in verify_trail.py.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def h(text):
    """A hash written sha256:<64 lowercase hex> as its 32 bytes."""
    if not isinstance(text, str) or not text.startswith("sha256:") or len(text) != 71:
        raise ValueError(f"not a sha256: hash: {text!r}")
    return bytes.fromhex(text[7:])


def head_leaf(head):
    return canonical({"digest": head["digest"], "project_id": head["project_id"],
                      "sequence": head["sequence"]}).encode("utf-8")


def signed_bytes(signed):
    return canonical(signed["checkpoint"]).encode("utf-8")


class Checks:
    """Collects what held and what failed, and says so."""

    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, holds, what):
        if holds:
            self.passed += 1
        else:
            self.failures.append(what)
            if len(self.failures) <= 20:
                print(f"FAILED: {what}")
        return holds

    def finish(self):
        if self.failures:
            if len(self.failures) > 20:
                print(f"... and {len(self.failures) - 20} more failures")
            print(f"{len(self.failures)} check(s) FAILED, {self.passed} held")
            return 1
        print(f"OK: all {self.passed} checks held")
        return 0


def check_signature(checks, signed, public_key):
    body = signed["checkpoint"]
    number = body.get("number")
    checks.check(body.get("format") == FORMAT, f"checkpoint {number} is not in the format {FORMAT}")
    try:
        signature = bytes.fromhex(signed["signature"])
    except ValueError:
        signature = b""
    if ed25519_verify(public_key, signed_bytes(signed), signature):
        return checks.check(True, "")
    if signed.get("key_id") != "sha256:" + sha256(public_key).hex():
        return checks.check(False, f"checkpoint {number} was signed with key {signed.get('key_id')}, "
                                   "not with the key given, and does not verify with it")
    return checks.check(False, f"the signature of checkpoint {number} does not match its contents "
                               "(altered, or not made with this key)")


def check_inclusion(checks, proof, signed, tree):
    body = signed["checkpoint"]
    number = body["number"]
    what = (f"the {tree}-tree proof of project {proof['head']['project_id']} entry "
            f"{proof['head']['sequence']} in checkpoint {number}")
    if not checks.check(proof["checkpoint"] == number and proof["tree"] == tree
                        and proof["tree_size"] == body[tree]["size"],
                        f"{what} is for checkpoint {proof['checkpoint']}'s {proof['tree']} tree "
                        f"of {proof['tree_size']} leaves"):
        return False
    return checks.check(
        verify_inclusion(leaf_hash(head_leaf(proof["head"])), proof["index"], proof["tree_size"],
                         [h(x) for x in proof["path"]], h(body[tree]["root"])),
        f"{what} does not lead to its signed root")


def check_consistency(checks, proof, earlier, later):
    old, new = earlier["checkpoint"], later["checkpoint"]
    what = f"the consistency proof from checkpoint {old['number']} to {new['number']}"
    if not checks.check((proof["from"], proof["to"], proof["old_size"], proof["new_size"])
                        == (old["number"], new["number"], old["log"]["size"], new["log"]["size"]),
                        f"{what} is for other checkpoints or sizes"):
        return False
    return checks.check(
        verify_consistency(proof["old_size"], proof["new_size"], h(old["log"]["root"]),
                           h(new["log"]["root"]), [h(x) for x in proof["path"]]),
        f"{what} does not hold: checkpoint {new['number']}'s log does not extend "
        f"checkpoint {old['number']}'s (the history was rewritten)")


def check_vectors(path):
    vectors = json.load(open(path, encoding="utf-8"))
    checks = Checks()

    # Ed25519 itself, against RFC 8032's own test vectors.
    for i, test in enumerate(vectors["signing"]["rfc8032"], start=1):
        public, message = bytes.fromhex(test["public_key"]), bytes.fromhex(test["message"])
        signature = bytes.fromhex(test["signature"])
        checks.check(ed25519_verify(public, message, signature), f"RFC 8032 test {i} does not verify")
        checks.check(not ed25519_verify(public, message + b"!", signature),
                     f"RFC 8032 test {i} verifies for another message")
    signing = vectors["signing"]
    public_key = bytes.fromhex(signing["public_key"])
    checks.check(secret_to_public(bytes.fromhex(signing["secret_key"])) == public_key,
                 "the test key's public key is not derived from its secret key")
    checks.check(signing["key_id"] == "sha256:" + sha256(public_key).hex(),
                 "the key id is not SHA-256 of the public key")
    print(f"Ed25519: {len(vectors['signing']['rfc8032'])} RFC 8032 vectors and the test key checked")

    # The tree: leaves, the root of every prefix, every proof.
    tree = vectors["tree"]
    hashes = []
    for i, leaf in enumerate(tree["leaves"]):
        checks.check(head_leaf(leaf["head"]) == leaf["leaf"].encode("utf-8"),
                     f"leaf {i} is not its head's canonical JSON")
        hashes.append(leaf_hash(leaf["leaf"].encode("utf-8")))
        checks.check(hashes[-1] == h(leaf["leaf_hash"]), f"the hash of leaf {i} is wrong")
    roots = {}
    for entry in tree["roots"]:
        size = entry["tree_size"]
        roots[size] = h(entry["root"])
        checks.check(root(hashes[:size]) == roots[size], f"the root of the tree of {size} leaves is wrong")
    for proof in tree["inclusion_proofs"]:
        size, index = proof["tree_size"], proof["index"]
        checks.check(verify_inclusion(hashes[index], index, size, [h(x) for x in proof["path"]],
                                      roots[size]),
                     f"the inclusion proof of leaf {index} in the tree of {size} leaves does not hold")
    for proof in tree["consistency_proofs"]:
        old, new = proof["old_size"], proof["new_size"]
        checks.check(verify_consistency(old, new, roots[old], roots[new], [h(x) for x in proof["path"]]),
                     f"the consistency proof from {old} to {new} leaves does not hold")
    print(f"Tree: {len(hashes)} leaves, {len(roots)} roots, {len(tree['inclusion_proofs'])} inclusion "
          f"and {len(tree['consistency_proofs'])} consistency proofs checked")

    # The checkpoints: signatures, links, both trees rebuilt from the logged heads, the proofs.
    history = vectors["checkpoints"]
    signed_list = history["signed"]
    logged = history["logged"]
    order = [(row["checkpoint"], row["head"]["project_id"]) for row in logged]
    checks.check(order == sorted(order) and len(set(order)) == len(order),
                 "the logged heads are not in order of checkpoint, then project id")
    previous = None
    by_number = {}
    for i, signed in enumerate(signed_list):
        body = signed["checkpoint"]
        number = body["number"]
        by_number[number] = signed
        checks.check(number == i + 1, f"checkpoint {number} is out of place")
        checks.check(signed_bytes(signed) == history["signed_bytes"][i].encode("utf-8"),
                     f"checkpoint {number}'s signed bytes are not its canonical JSON")
        check_signature(checks, signed, public_key)
        checks.check(body["previous"] == previous,
                     f"checkpoint {number} does not name the checkpoint before it")
        previous = "sha256:" + sha256(signed_bytes(signed)).hex()
        rows = [row["head"] for row in logged if row["checkpoint"] <= number]
        log_hashes = [leaf_hash(head_leaf(head)) for head in rows]
        checks.check(body["log"]["size"] == len(log_hashes) and h(body["log"]["root"]) == root(log_hashes),
                     f"checkpoint {number}'s log is not the tree of the heads logged up to it")
        latest = {}
        for head in rows:
            latest[head["project_id"]] = head
        heads = [latest[project] for project in sorted(latest)]
        head_hashes = [leaf_hash(head_leaf(head)) for head in heads]
        checks.check(body["heads"]["size"] == len(heads) and h(body["heads"]["root"]) == root(head_hashes),
                     f"checkpoint {number}'s heads tree is not each project's last logged head")
    for proof in history["head_proofs"]:
        signed = by_number[proof["checkpoint"]]
        if check_inclusion(checks, proof, signed, "heads"):
            rows = [row["head"] for row in logged if row["checkpoint"] <= proof["checkpoint"]
                    and row["head"]["project_id"] == proof["head"]["project_id"]]
            checks.check(rows and rows[-1] == proof["head"],
                         f"the heads-tree proof in checkpoint {proof['checkpoint']} is not of the "
                         "project's last logged head")
    for proof in history["log_proofs"]:
        check_inclusion(checks, proof, by_number[proof["checkpoint"]], "log")
    for proof in history["consistency_proofs"]:
        check_consistency(checks, proof, by_number[proof["from"]], by_number[proof["to"]])
    print(f"Checkpoints: {len(signed_list)} signed checkpoints, {len(history['head_proofs'])} head, "
          f"{len(history['log_proofs'])} log and {len(history['consistency_proofs'])} consistency "
          "proofs checked")
    return checks.finish()


def trail_heads(path):
    """The chain head after each entry of an exported trail, as docs/verifying.md computes it."""
    lines = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    if not lines:
        return None, []
    project_id = lines[0]["data"]["project_id"]
    head, heads = bytes(32), []
    for line in lines:
        entry = {
            "aggregate_id": project_id,
            "sequence": line["sequence"],
            "event_type": line["type"],
            "event_version": line["version"],
            "payload": dict(line["data"], type=line["type"]),
            "metadata": {"recorded_at": line["recorded_at"], "recorded_by": line["recorded_by"]},
        }
        head = sha256(head + canonical(entry).encode("utf-8"))
        heads.append(head)
    return project_id, heads


def check_checkpoint(args):
    def option(name):
        if name in args:
            i = args.index(name)
            value = args[i + 1]
            del args[i:i + 2]
            return value
        return None

    key_text = option("--public-key")
    proof_path, trail_path = option("--proof"), option("--trail")
    earlier_path, consistency_path = option("--earlier"), option("--consistency")
    if key_text is None or len(args) != 1:
        print(__doc__)
        return 2
    if os.path.exists(key_text):
        key_text = open(key_text, encoding="utf-8").read()
    public_key = bytes.fromhex(key_text.strip())
    signed = json.load(open(args[0], encoding="utf-8"))
    bundled_proof = None
    if "proof" in signed:  # a bundle {checkpoint, proof}, as the API's proof route answers
        signed, bundled_proof = signed["checkpoint"], signed["proof"]
    number = signed["checkpoint"]["number"]
    checks = Checks()
    if check_signature(checks, signed, public_key):
        print(f"checkpoint {number}: signature holds (made at {signed['checkpoint']['made_at']})")
    if earlier_path and consistency_path:
        earlier = json.load(open(earlier_path, encoding="utf-8"))
        if check_signature(checks, earlier, public_key) and check_consistency(
                checks, json.load(open(consistency_path, encoding="utf-8")), earlier, signed):
            print(f"checkpoint {number}'s log extends checkpoint {earlier['checkpoint']['number']}'s")
    if proof_path or bundled_proof:
        proof = json.load(open(proof_path, encoding="utf-8")) if proof_path else bundled_proof
        if check_inclusion(checks, proof, signed, "heads"):
            head = proof["head"]
            print(f"project {head['project_id']}'s head at checkpoint {number}: entry "
                  f"{head['sequence']}, {head['digest']}")
            if trail_path:
                project_id, heads = trail_heads(trail_path)
                s = head["sequence"]
                if checks.check(project_id == head["project_id"],
                                f"the trail is project {project_id}'s, not {head['project_id']}'s"):
                    if checks.check(len(heads) >= s, f"the trail has {len(heads)} entries but checkpoint "
                                                     f"{number} holds entry {s}: entries were removed"):
                        found = "sha256:" + heads[s - 1].hex()
                        if checks.check(found == head["digest"],
                                        f"entry {s} now hashes to {found}, not to the checkpointed "
                                        f"{head['digest']}: the trail was rewritten or rolled back "
                                        f"at or before entry {s}"):
                            print(f"the trail holds checkpoint {number}'s head (entry {s})")
    return checks.finish()


def main(argv):
    if len(argv) == 2 and argv[0] == "--vectors":
        return check_vectors(argv[1])
    return check_checkpoint(list(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
