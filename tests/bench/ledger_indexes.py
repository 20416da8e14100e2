#!/usr/bin/env python3
"""What bounds the transparency log's cost on SQLite: appending seal-use entries, 500
per transaction with an integration every 4 000 (as the service does), into the
migration's tables, three ways:

- as migrated: the integrator writes the lookup rows (8-byte prefixes of the leaf hash
  and of the signature hash) in sorted batches into `ledger_lookup`;
- per-act hash indexes: the first design, indexes on the 32-byte leaf and signature
  hashes of `ledger_entries`, written by every act's own transaction;
- no lookups at all: what appending and integrating cost without them.

Same SQLite settings as the service (WAL, synchronous FULL).

Usage: tests/bench/ledger_indexes.py [entries]   (default 200 000)
Prints microseconds per entry for each way (Python's own share, about 10 us, is in
every figure alike); asserts nothing.
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
WAYS = ("as migrated", "per-act hash indexes", "no lookups")


def create(con, way):
    text = open(MIGRATION, encoding="utf-8").read()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    for statement in filter(None, (s.strip() for s in body.split(";"))):
        if "ledger_entries" in statement or "ledger_lookup" in statement:
            con.execute(statement)
    if way == "per-act hash indexes":
        con.execute("CREATE INDEX leaf ON ledger_entries (leaf_hash)")
        con.execute("CREATE INDEX subject ON ledger_entries (subject_hash)")


def prefix(digest):
    return int.from_bytes(digest[:8], "big", signed=True)


def integrate(con, size, way):
    con.execute("BEGIN IMMEDIATE")
    assigned = con.execute(
        "UPDATE ledger_entries SET idx = p.rn FROM (SELECT seq, ROW_NUMBER() OVER (ORDER BY seq) - 1 + ? "
        "AS rn FROM ledger_entries WHERE idx IS NULL ORDER BY seq LIMIT 4096) AS p "
        "WHERE ledger_entries.seq = p.seq", (size,)).rowcount
    if way == "as migrated":
        rows = con.execute("SELECT idx, leaf_hash, subject_hash FROM ledger_entries WHERE idx >= ?",
                           (size,)).fetchall()
        keys = sorted({(prefix(h), idx) for idx, leaf, subject in rows for h in (leaf, subject)})
        con.executemany("INSERT INTO ledger_lookup (key, idx) VALUES (?, ?)", keys)
    con.execute("COMMIT")
    return size + assigned


def run(way, count, directory):
    con = sqlite3.connect(os.path.join(directory, way.replace(" ", "-") + ".db"), isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    create(con, way)
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
            rows.append((hashlib.sha256(b"\0" + entry).digest(), entry, signature))
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO ledger_entries (leaf_hash, entry, kind, subject_hash, seal_id, created_at) "
                        "VALUES (?, ?, 'seal.used', ?, 's', 0)", rows)
        con.execute("COMMIT")
        if chunk % 8 == 7:
            size = integrate(con, size, way)
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed / count * 1e6


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as directory:
        for way in WAYS:
            print(f"{way}: {run(way, count, directory):.1f} us per entry ({count} entries)")


if __name__ == "__main__":
    main()
