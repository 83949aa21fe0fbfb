"""`python -m ledger verify PATH|URL`: exit 0 when the ledger verifies, 1 on tampering, 2 when
it cannot be checked (bad arguments, unreadable file or database, no trusted log key).

`python -m ledger keys init --dir DIR [--origin ORIGIN]`: makes the ledger's keys in DIR once
(log.key, log.vkey, pseudonym.key; existing ones are kept) and prints the log's public key.
With LEDGER_URL every ledger process gets a copy of them as LEDGER_DIR/keys (none makes its
own at start).

PATH is a ledger file; URL a ledger in PostgreSQL, `postgresql://…?schema=ledger` (LEDGER_URL),
read in read-only transactions. A URL has no directory beside it, so its trusted keys come
from --vkey or --keys-dir (the ledger service's LEDGER_DIR/keys)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ledger.note import NoteError, Verifier
from pgpool import is_postgres, redacted


def _trusted_keys(args) -> list[Verifier]:
    if args.vkey:
        return [Verifier.from_vkey(v) for v in args.vkey]
    if is_postgres(args.path) and not args.keys_dir:
        raise NoteError("a PostgreSQL ledger needs --vkey or --keys-dir")
    keys_dir = args.keys_dir or Path(args.path).resolve().parent / "keys"
    return [Verifier.from_vkey(f.read_text()) for f in sorted(keys_dir.glob("*.vkey"))]


def verify_command(args) -> int:
    from tqdm import tqdm

    from ledger.verify import verify_ledger

    if not is_postgres(args.path) and not Path(args.path).is_file():
        print(f"{args.path}: no such ledger file", file=sys.stderr)
        return 2
    try:
        keys = _trusted_keys(args)
    except (OSError, NoteError) as exc:
        print(f"cannot read the trusted keys: {exc}", file=sys.stderr)
        return 2
    quiet = args.quiet or not sys.stderr.isatty()
    with tqdm(
        desc="verifying", unit=" entries", unit_scale=True, disable=quiet, file=sys.stderr
    ) as bar:
        try:
            report = verify_ledger(args.path, keys, progress=bar.update)
        except LookupError as exc:
            print(f"cannot verify: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:  # noqa: BLE001 - an unreadable file is not a crash
            where = redacted(args.path)
            print(f"cannot read {where}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
    if not report.ok:
        print(f"first bad index {report.first_bad_index}: {report.reason}")
        for problem in report.problems[:20]:
            print(f"  {problem}")
        return 1
    print(
        f"ok: {report.size} entries, root {report.root.hex()}, "
        f"{report.checkpoints_checked} checkpoints and {report.cosignatures_checked} "
        f"cosignatures verified in {report.elapsed:.1f}s"
    )
    return 0


def keys_init_command(args) -> int:
    from ledger.bootstrap import init_keys

    try:
        signer = init_keys(args.dir, args.origin)
    except (OSError, ValueError) as exc:
        print(f"cannot make the keys in {args.dir}: {exc}", file=sys.stderr)
        return 2
    print(signer.verifier.vkey())
    return 0


def main(argv: list[str] | None = None) -> int:
    from ledger.bootstrap import DEFAULT_ORIGIN

    parser = argparse.ArgumentParser(prog="python -m ledger")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="re-verify a ledger from its entries")
    verify.add_argument("path", help="a ledger file, or postgresql://…?schema=ledger")
    verify.add_argument("--vkey", action="append", help="a trusted key (repeatable)")
    verify.add_argument(
        "--keys-dir",
        type=Path,
        help="trust every *.vkey here (default: keys/ beside the ledger file; a URL needs it)",
    )
    verify.add_argument("--quiet", action="store_true", help="no progress bar")
    keys = commands.add_parser("keys", help="the ledger's signing and pseudonym keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    init = keys_commands.add_parser("init", help="make the keys once; print the log's vkey")
    init.add_argument("--dir", type=Path, required=True, help="LEDGER_DIR/keys to fill")
    init.add_argument("--origin", default=DEFAULT_ORIGIN, help="the log's name (LEDGER_ORIGIN)")
    args = parser.parse_args(argv)
    if args.command == "keys":
        return keys_init_command(args)
    return verify_command(args)


if __name__ == "__main__":
    sys.exit(main())
