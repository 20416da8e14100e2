#!/usr/bin/env python3
"""Judges our public transparency log with PyPI aics-tlog, a C2SP tlog implementation we
did not write (tlog-tiles, tlog-checkpoint, signed-note Ed25519, RFC 9162 proofs).

usage: tlog_check.py checkpoint  --url URL [--save FILE]
       tlog_check.py tree        --url URL [--flip entries/N/BYTE | L/N/BYTE]
       tlog_check.py inclusion   --url URL --sample K [--seed S]
       tlog_check.py consistency --url URL --old FILE
Prints one JSON object; exits 0 when every check passed, 1 when one failed, 2 on a usage
or network error. Signatures, tile paths, hashing, tree roots and proof verification are
all aics-tlog's; this file fetches, wires them together and checks our entry format
(a UTF-8 JSON object with "v": 1 and a non-empty string "kind"; compactness is not
checked). aics-tlog 0.2.x requires Python >= 3.12 (requirements.txt marks it so).
"""
import argparse
import base64
import collections
import json
import random
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

try:
    from aics_tlog import (HttpTileReader, MemoryTileReader, MerkleTree, TileMissingError,
                           TileUnavailableError, TileVerificationError, audit_tiles, leaf_hash,
                           parse_note, parse_vkey, tree_root_from_tiles, verify_checkpoint,
                           verify_consistency, verify_inclusion)
    from aics_tlog.note import b64_decode  # canonical base64 (not re-exported at top level)
    from aics_tlog.tiles import (TILE_ENTRIES, build_entry_bundle, entry_bundle_path,
                                 parse_entry_bundle, tile_path, tile_width_at)
except ImportError as error:
    print(json.dumps({"ok": False, "error": f"aics-tlog unavailable ({error}); it needs Python >= 3.12"}))
    sys.exit(2)

HASH = 32


class NetError(Exception):
    """Transport failure or 5xx: exit 2, no verdict on the log."""


class Stop(Exception):
    """A failed check that later checks depend on."""


class Report:
    def __init__(self, command, url):
        self.out = {"command": command, "url": url, "checks": {}}
        self.failures = []

    def check(self, name, ok, why=""):
        self.out["checks"][name] = bool(ok)
        if not ok:
            self.failures.append(f"{name}: {why}" if why else name)
        return bool(ok)

    def require(self, name, ok, why=""):
        if not self.check(name, ok, why):
            raise Stop()


def http_get(url):
    """GET url -> (status, body); NetError on transport errors and 5xx."""
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        if e.code >= 500:
            raise NetError(f"GET {url}: HTTP {e.code}") from None
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        raise NetError(f"GET {url}: {e}") from None


def get_json(rep, name, url):
    status, body = http_get(url)
    rep.require(name, status == 200, f"GET {url}: HTTP {status} {body[:200]!r}")
    try:
        return json.loads(body)
    except ValueError as e:
        rep.require(name, False, f"not JSON: {e}")


def fetch_vkey(rep, url):
    status, body = http_get(url + "/log/key")
    rep.require("key_served", status == 200, f"HTTP {status}")
    try:
        # parse_vkey demands name+<8 hex>+base64(0x01||pub), recomputes the key ID as
        # SHA-256(name || 0x0A || 0x01 || pub)[:4] and refuses small-order keys. Only
        # whitespace around the served line is tolerated here.
        return parse_vkey(body.decode("utf-8").strip())
    except (UnicodeDecodeError, ValueError) as e:
        rep.require("key_valid", False, str(e))


def verified_checkpoint(rep, reader, vkey, raw=None, label="checkpoint"):
    """Parse and verify a signed checkpoint (fetched via aics-tlog when raw is None)."""
    if raw is None:
        raw = reader.read_checkpoint()  # GET {url}/log/checkpoint, no-cache, no redirects
    try:
        note = parse_note(raw)
    except ValueError as e:
        rep.require(f"{label}_parses", False, str(e))
    # The key name is the origin; a line from another key is ignored, not an error.
    res = verify_checkpoint(note, vkey, expected_origin=vkey.name)
    # aics-tlog accepts a last signature line without its "\n"; Go's sumdb/note (most tlog
    # clients) does not. Demand the form aics-tlog itself serialises: byte-identical.
    rep.check(f"{label}_canonical", note.to_bytes() == raw,
              "differs from aics-tlog's re-serialisation (final newline? em dash?)")
    rep.require(f"{label}_signature", res.ok, res.error)
    return res, raw


def fetch_tile(reader, level, index, size):
    """Hash tile (level, index) of a tree of `size`, as served; None when absent.
    tlog-tiles lets a log drop a partial once its full tile exists: fall back to it."""
    width = tile_width_at(size, level, index)
    data = reader.read_tile(level, index, width)
    if data is None and width is not None:
        full = reader.read_tile(level, index, None)
        data = full[: width * HASH] if full is not None else None
    return data


def fetch_bundle(reader, index, size):
    width = tile_width_at(size, 0, index)
    data = reader.read_entry_bundle(index, width)
    if data is None and width is not None:
        full = reader.read_entry_bundle(index, None)
        data = build_entry_bundle(parse_entry_bundle(full)[:width]) if full is not None else None
    return data


def b64(data):
    return base64.b64encode(data).decode()


def split(data):
    return [data[i: i + HASH] for i in range(0, len(data), HASH)]


def cmd_checkpoint(args, rep, reader):
    vkey = fetch_vkey(rep, args.url)
    res, raw = verified_checkpoint(rep, reader, vkey)
    rep.out.update(origin=res.origin, size=res.size, root=b64(res.root), key_id=vkey.key_id.hex())
    if args.save:
        with open(args.save, "wb") as fh:
            fh.write(raw)


def cmd_tree(args, rep, reader):
    vkey = fetch_vkey(rep, args.url)
    cp, _ = verified_checkpoint(rep, reader, vkey)
    size, root = cp.size, cp.root
    # Every resource the checkpoint commits to, keyed by aics-tlog's tlog-tiles paths.
    res, bundles, levels = {}, [], []
    for i in range(-(-size // TILE_ENTRIES)):
        bundles.append(entry_bundle_path(i, tile_width_at(size, 0, i)))
        res[bundles[-1]] = fetch_bundle(reader, i, size)
    level = 0
    while size // TILE_ENTRIES**level:  # level L holds size // 256**L hashes
        levels.append([tile_path(level, i, tile_width_at(size, level, i))
                       for i in range(-(-(size // TILE_ENTRIES**level) // TILE_ENTRIES))])
        for i, path in enumerate(levels[-1]):
            res[path] = fetch_tile(reader, level, i, size)
        level += 1
    missing = [p for p, d in res.items() if d is None]
    rep.require("resources_served", not missing, f"404: {missing[:5]}")
    rep.out.update(size=size, root=b64(root), tiles=sum(map(len, levels)), bundles=len(bundles))
    if args.flip:  # tamper with one fetched byte: the run below must then fail
        m = re.fullmatch(r"(entries|\d+)/(\d+)/(\d+)", args.flip)
        groups = {"entries": bundles, **{str(level): paths for level, paths in enumerate(levels)}}
        group = groups.get(m[1], []) if m else []
        tile, byte = (int(m[2]), int(m[3])) if m else (0, 0)
        if tile >= len(group) or byte >= len(res[group[tile]]):
            raise SystemExit(usage(f"--flip {args.flip}: no such tile or byte in this tree"))
        path = group[tile]
        res[path] = res[path][:byte] + bytes([res[path][byte] ^ 0xFF]) + res[path][byte + 1:]
        rep.out["flipped"] = f"{path} byte {byte}"

    entries = []
    for i, path in enumerate(bundles):
        try:
            chunk = parse_entry_bundle(res[path])
        except ValueError as e:
            rep.require("bundles_ok", False, f"{path}: {e}")
        rep.require("bundles_ok", len(chunk) == min(TILE_ENTRIES, size - i * TILE_ENTRIES),
                    f"{path}: {len(chunk)} entries")
        entries.extend(chunk)
    rep.check("bundles_ok", True)

    kinds, bad = collections.Counter(), []
    for i, entry in enumerate(entries):
        try:
            obj = json.loads(entry.decode("utf-8"))
            ok = (isinstance(obj, dict) and type(obj.get("v")) is int and obj["v"] == 1
                  and isinstance(obj.get("kind"), str) and obj["kind"] != "")
        except (UnicodeDecodeError, ValueError):
            ok = False
        if ok:
            kinds[obj["kind"]] += 1
        else:
            bad.append(i)
    rep.out.update(entries=len(entries), kinds=dict(sorted(kinds.items())))
    rep.check("entries_json_ok", not bad, f"entries {bad[:10]} are not JSON with v=1 and a kind")

    tile0 = split(b"".join(res[p] for p in levels[0])) if levels else []
    wrong = [i for i, (e, h) in enumerate(zip(entries, tile0)) if leaf_hash(e) != h]
    rep.check("leaf_hashes_ok", not wrong, f"level-0 hash != SHA-256(0x00||entry) at {wrong[:10]}")
    rep.check("root_ok", MerkleTree(entries).root() == root, "entries do not rebuild the signed root")

    # Level L hash j is the root of the complete subtree of leaves [j*256**L, (j+1)*256**L).
    wrong = []
    for level in range(1, len(levels)):
        span = TILE_ENTRIES**level
        for j, h in enumerate(split(b"".join(res[p] for p in levels[level]))):
            if MerkleTree(entries[j * span:(j + 1) * span]).root() != h:
                wrong.append(f"{level}/{j}")
    rep.check("higher_tiles_ok", not wrong, f"subtree hashes differ at {wrong[:10]}")

    # aics-tlog's own walk over the same bytes: each full tile proven by its parent up to
    # the right edge, which must fold to the signed root; each bundle by its level-0 tile.
    reader = MemoryTileReader(res)
    try:
        audit_tiles(reader, size, root)
        rep.check("tiles_root_ok", tree_root_from_tiles(reader, size) == root, "tiles fold to another root")
        rep.check("audit_tiles_ok", True)
    except (TileMissingError, TileVerificationError, ValueError) as e:
        rep.check("audit_tiles_ok", False, str(e))


def cmd_inclusion(args, rep, reader):
    vkey = fetch_vkey(rep, args.url)
    cp, _ = verified_checkpoint(rep, reader, vkey)
    size, root = cp.size, cp.root
    rep.require("tree_not_empty", size > 0, "nothing to prove in an empty tree")
    rng = random.Random(args.seed)
    picks = [0, size - 1][: min(args.sample, size)]
    while len(set(picks)) < min(args.sample, size):
        picks.append(rng.randrange(size))
    tiles = {}

    def leaf(i):  # the leaf hash as the log's level-0 tile has it
        if i // TILE_ENTRIES not in tiles:
            tiles[i // TILE_ENTRIES] = fetch_tile(reader, 0, i // TILE_ENTRIES, size)
            rep.require("tiles_served", tiles[i // TILE_ENTRIES] is not None, f"level-0 tile of {i}")
        pos = i % TILE_ENTRIES
        return tiles[i // TILE_ENTRIES][pos * HASH:(pos + 1) * HASH]

    results, sample = [], None
    for i in sorted(set(picks)):
        h = leaf(i)
        q = urllib.parse.urlencode({"leaf_hash": h.hex(), "tree_size": size})
        obj = get_json(rep, "proof_served", f"{args.url}/api/v1/log/proofs/inclusion?{q}")
        try:
            idx, hashes = obj["index"], [b64_decode(x) for x in obj["hashes"]]
            echoed = obj["tree_size"] == size and b64_decode(obj["leaf_hash"]) == h
        except (KeyError, TypeError, ValueError) as e:
            rep.require("proof_shape_ok", False, f"index {i}: {e}")
        # Another index is fine only if it holds the same entry (a duplicate).
        ok = (echoed and isinstance(idx, int) and 0 <= idx < size and (idx == i or leaf(idx) == h)
              and verify_inclusion(h, idx, size, hashes, root))
        rep.check(f"inclusion_{i}", ok, f"proof for index {i} (answered {idx}) does not verify")
        results.append({"index": i, "proof_len": len(hashes), "ok": ok})
        if ok and sample is None:
            sample = (h, idx, hashes)
    rep.out.update(size=size, root=b64(root), proofs=results)
    if sample:  # sanity: the verifier must refuse the same proof with one bit flipped
        h, idx, hashes = sample
        bent = [bytes([hashes[0][0] ^ 1]) + hashes[0][1:]] + hashes[1:] if hashes else hashes
        h = h if hashes else bytes([h[0] ^ 1]) + h[1:]
        rep.check("tampered_proof_rejected", not verify_inclusion(h, idx, size, bent, root))


def cmd_consistency(args, rep, reader):
    vkey = fetch_vkey(rep, args.url)
    try:
        old_raw = open(args.old, "rb").read()
    except OSError as e:
        raise SystemExit(usage(f"--old: {e}"))
    old, _ = verified_checkpoint(rep, reader, vkey, raw=old_raw, label="old_checkpoint")
    new, _ = verified_checkpoint(rep, reader, vkey)
    rep.out.update(old_size=old.size, new_size=new.size, old_root=b64(old.root), new_root=b64(new.root))
    rep.require("size_not_decreased", old.size <= new.size, f"{old.size} > {new.size}")
    q = urllib.parse.urlencode({"first": old.size, "second": new.size})
    obj = get_json(rep, "proof_served", f"{args.url}/api/v1/log/proofs/consistency?{q}")
    try:
        hashes = [b64_decode(x) for x in obj["hashes"]]
        echoed = obj["first"] == old.size and obj["second"] == new.size
    except (KeyError, TypeError, ValueError) as e:
        rep.require("proof_shape_ok", False, str(e))
    rep.out["proof_len"] = len(hashes)
    rep.check("consistency_ok", echoed and verify_consistency(old.size, new.size, old.root, new.root, hashes),
              "consistency proof does not verify")
    mangled = bytes([old.root[0] ^ 1]) + old.root[1:]
    rep.check("mangled_old_root_rejected", not verify_consistency(old.size, new.size, mangled, new.root, hashes))
    # Optional: the log's record of the checkpoint it made at the old size must agree.
    status, body = http_get(f"{args.url}/api/v1/log/checkpoints/{old.size}")
    rep.out["historic_checkpoint"] = "absent" if status == 404 else status
    if status == 200:
        past, _ = verified_checkpoint(rep, reader, vkey, raw=body, label="historic_checkpoint")
        rep.check("historic_checkpoint_matches", (past.size, past.root) == (old.size, old.root))


def usage(message):
    print(json.dumps({"ok": False, "error": message}))
    return 2


class Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors also answer in JSON, exit 2
        sys.exit(usage(f"{self.prog}: {message}"))


def main(argv=None):
    ap = Parser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in ("checkpoint", "tree", "inclusion", "consistency"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True, help="base URL of the server, e.g. http://127.0.0.1:8080")
        if name == "checkpoint":
            p.add_argument("--save", metavar="FILE", help="write the verified checkpoint here")
        elif name == "tree":
            p.add_argument("--flip", metavar="LEVEL/INDEX/BYTE", help="flip one byte of one fetched tile first "
                           "(entries/0/10, 0/0/5): the run must then fail")
        elif name == "inclusion":
            p.add_argument("--sample", type=int, required=True, metavar="K")
            p.add_argument("--seed", type=int, help="seed for the random picks (default: random)")
        else:
            p.add_argument("--old", required=True, metavar="FILE", help="a checkpoint saved earlier")
    args = ap.parse_args(argv)
    args.url = args.url.rstrip("/")
    if urllib.parse.urlsplit(args.url).scheme not in ("http", "https"):
        return usage("--url must be http(s)://host[:port]")
    if getattr(args, "sample", 1) < 1:
        return usage("--sample must be >= 1")
    rep = Report(args.command, args.url)
    # aics-tlog's HTTP reader over the tlog-tiles prefix {url}/log/: refuses redirects,
    # caps sizes, rejects tiles and bundles of the wrong length.
    reader = HttpTileReader(args.url + "/log/", proxies={})
    try:
        globals()["cmd_" + args.command](args, rep, reader)
    except Stop:
        pass
    except NetError as e:
        return usage(str(e))
    except TileUnavailableError as e:
        if not str(e).endswith("malformed resource"):  # transport failure, not a verdict
            return usage(str(e))
        rep.check("resources_well_formed", False, str(e))
    rep.out["ok"] = not rep.failures
    rep.out["failures"] = rep.failures
    print(json.dumps(rep.out, ensure_ascii=False))
    return 0 if rep.out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
