"""`python -m privacy.rewrap --url postgresql://...?schema=merchant`: wraps every data key of a
PostgreSQL vault again under the first key-encryption key of VAULT_KEK_FILE / VAULT_KEK.

Rotating the KEK, without stopping a service (README "Personal data"):
1. list the new key after the old one in the secret and roll the services out (all unwrap both);
2. put the new key first and roll out again (new keys are wrapped by it);
3. run this command for each schema with a vault (merchant, risk): it prints how many keys it
   rewrapped, and a second run prints 0;
4. remove the old key from the secret, roll out, and destroy every copy of it.
Backups taken before step 3 hold keys wrapped by the old KEK: once it is destroyed they no
longer open, which is what erasure needs of them.
"""

from __future__ import annotations

import argparse
import os
import sys

from privacy.kek import KekError, load_keks
from privacy.postgres import PostgresVault, VaultNotMigrated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privacy.rewrap", description=__doc__)
    parser.add_argument(
        "--url",
        default=os.environ.get("VAULT_URL", ""),
        help="postgresql://...?schema=<service> (default: $VAULT_URL)",
    )
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url postgresql://...?schema=<service> or set VAULT_URL")
    try:
        vault = PostgresVault(args.url, load_keks({}))
    except (KekError, VaultNotMigrated) as exc:
        print(f"rewrap: {exc}", file=sys.stderr)
        return 1
    try:
        count = vault.rewrap()
    except KekError as exc:
        print(f"rewrap: {exc}", file=sys.stderr)
        return 1
    finally:
        vault.close()
    print(f"{vault.schema or 'public'}: rewrapped {count} keys under {vault.keks.current_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
