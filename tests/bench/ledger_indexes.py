#!/usr/bin/env python3
"""What bounds the transparency log's cost on SQLite: appending seal-use entries, 500
per transaction with an integration every 4 000 (as the service does), into the
migration's `ledger_entries` table, beside the same table without its two hash
indexes (leaf hash, for proofs by leaf hash; signature or credential hash, for the
verification reports), and with 8-byte integer prefixes of the hashes indexed
instead. Same SQLite settings as the service (WAL, synchronous FULL).

Usage: tests/bench/ledger_indexes.py [entries]   (default 200 000)
Prints microseconds per entry for each variant (Python's own share, about 10 us, is
in every figure alike); asserts nothing.
"""
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIGRATION = os.path.join(ROOT, "migrations", "sqlite", "20261203000022_ledger.sql")


def schema(variant):
    """The migration's ledger_entries table and indexes, changed for the variant."""
    text = open(MIGRATION, encoding="utf-8").read()
    statements = [s.strip() for s in text.split(";") if "ledger_entries" in s]
    table = next(s for s in statements if s.lstrip("- \n").find("CREATE TABLE") >= 0)
    table = table[table.index("CREATE TABLE"):]
    indexes = [s[s.index("CREATE INDEX"):] for s in statements if "CREATE INDEX" in s]
    hashed = ("ledger_entries_leaf", "ledger_entries_subject")
    if variant != "as-migrated":
        indexes = [i for i in indexes if not any(h in i for h in hashed)]
    if variant == "integer-prefixes":
        table = table.replace("created_at    INTEGER NOT NULL",
                              "created_at INTEGER NOT NULL, leaf_key INTEGER, subject_key INTEGER")
        indexes += ["CREATE INDEX k1 ON ledger_entries (leaf_key)",
                    "CREATE INDEX k2 ON ledger_entries (subject_key)"]
    return [table] + indexes


def run(variant, count, directory):
    path = os.path.join(directory, variant + ".db")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    for statement in schema(variant):
        con.execute(statement)
    size = 0
    started = time.perf_counter()
    for chunk in range(count // 500):
        rows = []
        for i in range(chunk * 500, chunk * 500 + 500):
            digest = hashlib.sha256(str(i).encode()).hexdigest()
            signature = hashlib.sha256(digest.encode()).digest()
            entry = json.dumps({"v": 1, "kind": "seal.used", "time": "2026-12-03T16:00:00.000Z",
                                "department": "0190e8f4-6a8b-7c9d-8e0f-123456789abc",
                                "seal": "0190e8f4-6a8b-7c9d-8e0f-123456789abd", "certificate": digest,
                                "format": "cades", "document": "sha256:" + digest,
                                "signature": signature.hex()}, separators=(",", ":")).encode()
            leaf = hashlib.sha256(b"\0" + entry).digest()
            rows.append((leaf, entry, signature, int.from_bytes(leaf[:8], "big", signed=True),
                         int.from_bytes(signature[:8], "big", signed=True)))
        con.execute("BEGIN IMMEDIATE")
        if variant == "integer-prefixes":
            con.executemany("INSERT INTO ledger_entries (leaf_hash, entry, kind, subject_hash, seal_id, "
                            "created_at, leaf_key, subject_key) VALUES (?, ?, 'seal.used', ?, 's', 0, ?, ?)", rows)
        else:
            con.executemany("INSERT INTO ledger_entries (leaf_hash, entry, kind, subject_hash, seal_id, "
                            "created_at) VALUES (?, ?, 'seal.used', ?, 's', 0)", [r[:3] for r in rows])
        con.execute("COMMIT")
        if chunk % 8 == 7:
            con.execute("BEGIN IMMEDIATE")
            size += con.execute(
                "UPDATE ledger_entries SET idx = p.rn FROM (SELECT seq, ROW_NUMBER() OVER (ORDER BY seq) - 1 + ? "
                "AS rn FROM ledger_entries WHERE idx IS NULL ORDER BY seq LIMIT 4096) AS p "
                "WHERE ledger_entries.seq = p.seq", (size,)).rowcount
            con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed / count * 1e6


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as directory:
        for variant in ("as-migrated", "integer-prefixes", "no-hash-indexes"):
            print(f"{variant}: {run(variant, count, directory):.1f} us per entry ({count} entries)")


if __name__ == "__main__":
    main()
