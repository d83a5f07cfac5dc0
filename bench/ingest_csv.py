"""Benchmark: import a Shopify orders export of N line-item rows (default 1,000,000).

    python bench/ingest_csv.py [--rows N] [--ephemeral] [--keep DIR]

Writes orders_export.csv (the current 79-column layout, ~2.5 line items per order) and a
matching customers_export.csv into a temporary directory, starts a throwaway PostgreSQL cluster
(the same manager as the embedded one; durable settings unless --ephemeral), imports into a fresh
migrated database with `import_shopify_csv`, then imports the same files again (nothing changes).
Prints file sizes, the machine, and rows/s.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import shutil
import tempfile
import time
from pathlib import Path

from segflow.engines.postgres.db import connect, migrate
from segflow.engines.postgres.pgserver import Cluster
from segflow.sources.shopify_csv import import_shopify_csv

ORDER_HEADER_TEXT = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,Billing City,"
    "Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,"
    "Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,"
    "Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,Cancelled at,"
    "Payment Method,Payment Reference,Refunded Amount,Vendor,Outstanding Balance,Employee,"
    "Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount,Tax 1 Name,Tax 1 Value,"
    "Tax 2 Name,Tax 2 Value,Tax 3 Name,Tax 3 Value,Tax 4 Name,Tax 4 Value,Tax 5 Name,"
    "Tax 5 Value,Phone,Receipt Number,Duties,Billing Province Name,Shipping Province Name,"
    "Payment ID,Payment Terms Name,Next Payment Due At,Payment References")
CUSTOMER_HEADER_TEXT = (
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
    "Default Address Address1,Default Address Address2,Default Address City,"
    "Default Address Province Code,Default Address Country Code,Default Address Zip,"
    "Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,"
    "Tax Exempt,Tags")
ORDER_HEADER = ORDER_HEADER_TEXT.split(",")
CUSTOMER_HEADER = CUSTOMER_HEADER_TEXT.split(",")
PRODUCTS = [(f"Product {i}", f"SKU-{i}", f"Vendor {i % 7}", f"{5 + (i * 37) % 95}.00")
            for i in range(200)]
SOURCES = ["web"] * 6 + ["pos", "shopify_draft_order", "instagram", "amazon"]
PROVINCES = [("Toronto", "ON"), ("Montreal", "QC"), ("Vancouver", "BC"), ("Calgary", "AB")]


def generate(folder: Path, rows: int, seed: int = 1) -> tuple[Path, Path]:
    rnd = random.Random(seed)
    customers = max(1, rows // 10)
    col = {name: i for i, name in enumerate(ORDER_HEADER)}
    width = len(ORDER_HEADER)
    orders_path, customers_path = folder / "orders_export.csv", folder / "customers_export.csv"
    with open(customers_path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(CUSTOMER_HEADER)
        for c in range(1, customers + 1):
            city, prov = PROVINCES[c % 4]
            w.writerow([f"'{7_000_000_000 + c}", f"First{c}", f"Last{c}", f"c{c}@example.com",
                        "yes" if c % 3 else "no", "", f"{c} Main St", "", city, prov, "CA",
                        "A1A 1A1", "", f"'+1613555{c % 10000:04d}", "no", "0.00", "0", "",
                        "no", "vip" if c % 50 == 0 else ""])
    with open(orders_path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(ORDER_HEADER)
        written, n = 0, 0
        while written < rows:
            n += 1
            items = min(rows - written, rnd.choice((1, 1, 2, 3, 4, 4)))
            c = rnd.randint(1, customers)
            email = f"c{c}@example.com" if n % 97 else ""
            month, day = 1 + n % 12, 1 + n % 28
            created = f"2024-{month:02d}-{day:02d} {n % 24:02d}:{n % 60:02d}:00 -0500"
            lines = [PRODUCTS[rnd.randrange(200)] for _ in range(items)]
            subtotal = sum(float(p[3]) for p in lines)
            city, prov = PROVINCES[c % 4]
            for k, (title, sku, vendor, price) in enumerate(lines):
                row = [""] * width
                row[col["Name"]], row[col["Email"]] = f"#{1000 + n}", email
                row[col["Lineitem quantity"]], row[col["Lineitem name"]] = "1", title
                row[col["Lineitem price"]], row[col["Lineitem sku"]] = price, sku
                row[col["Vendor"]], row[col["Lineitem discount"]] = vendor, "0.00"
                if k == 0:
                    row[col["Financial Status"]] = "refunded" if n % 41 == 0 else "paid"
                    row[col["Currency"]] = "CAD"
                    row[col["Subtotal"]] = f"{subtotal:.2f}"
                    row[col["Shipping"]], row[col["Taxes"]] = "5.00", f"{subtotal * .13:.2f}"
                    row[col["Total"]] = f"{subtotal * 1.13 + 5:.2f}"
                    row[col["Created at"]] = created
                    row[col["Cancelled at"]] = created if n % 53 == 0 else ""
                    row[col["Refunded Amount"]] = f"{subtotal:.2f}" if n % 41 == 0 else "0.00"
                    row[col["Discount Code"]] = "WELCOME10" if n % 9 == 0 else ""
                    row[col["Id"]] = str(5_000_000_000 + n)
                    row[col["Tags"]] = "subscription" if n % 5 == 0 else ""
                    row[col["Source"]] = SOURCES[n % len(SOURCES)]
                    row[col["Shipping City"]], row[col["Shipping Province"]] = city, prov
                    row[col["Shipping Country"]] = "CA"
                w.writerow(row)
            written += items
    return customers_path, orders_path


def machine() -> str:
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {mem} RAM, {platform.platform()}, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--ephemeral", action="store_true", help="fsync off (as in the test suite)")
    ap.add_argument("--keep", type=Path, help="write the CSV files here and keep them")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="segflow-bench-"))
    work.chmod(0o755)
    folder = args.keep or work
    folder.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(work / "pg", ephemeral=args.ephemeral)
    try:
        t = time.perf_counter()
        customers, orders = generate(folder, args.rows)
        print(f"generated {args.rows:,} order rows in {time.perf_counter() - t:.1f} s: "
              f"orders {orders.stat().st_size / 1e6:.0f} MB, "
              f"customers {customers.stat().st_size / 1e6:.1f} MB")
        cluster.start()
        with connect(cluster.url("segflow")) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            migrate(conn)
            print(f"machine: {machine()}, PostgreSQL {version}"
                  f"{' (ephemeral: fsync off)' if args.ephemeral else ''}")
            for attempt in ("first import", "re-import (unchanged)"):
                t = time.perf_counter()
                s = import_shopify_csv(conn, customers, orders)
                conn.commit()
                took = time.perf_counter() - t
                print(f"{attempt}: {took:.1f} s, {args.rows / took:,.0f} order rows/s — {s.line()}")
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
