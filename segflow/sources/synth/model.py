"""Customer behaviour: who arrives when, what they buy first, and how they come back.

`iter_store(customers, seed, end_date)` yields `(customer, orders)` per customer, as plain
tuples (see the C_* and O_* positions below), deterministically from `seed`. Money is integer
cents; timestamps are integer seconds since the Unix epoch (UTC).

The model, in short:
- customers arrive over the two years before `end_date`, more of them as the store grows,
  with peaks from Black Friday to Cyber Monday and in December; ~10% never order;
- a customer's first product shapes the rest (Starter Kit buyers mostly come back for Beans
  Refill); one of four habits decides how often they return: once (about half), regular
  (every 2-3 months), loyal (monthly-ish, long tail of 10+ orders) or subscriber (every ~30
  days); orders after `end_date` are not placed, so recent customers have fewer;
- a November order is often held back to Black Friday; ~2% of orders are cancelled (within a
  week of being placed), ~3% refunded 3 to 20 days after (a third in full; the writer records
  the refund with that date in `store.refunds`), a few are tests, a few are $0 replacements.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Iterator

from segflow.sources.synth import catalog as c

DAYS = 730
DAY = 86_400

# Customer tuple positions.
C_ID, C_EMAIL, C_FIRST, C_LAST, C_PHONE, C_CREATED, C_UPDATED, C_TAGS, C_COMPANY, C_GEO, \
    C_ACCEPTS_EMAIL, C_ACCEPTS_SMS, C_TAX_EXEMPT, C_NOTE, C_SPENT, C_ORDERS = range(16)
# Order tuple positions.
O_ID, O_NUMBER, O_CUSTOMER, O_EMAIL, O_PLACED, O_CREATED, O_UPDATED, O_CANCELLED, O_TEST, \
    O_FINANCIAL, O_FULFILLMENT, O_SUBTOTAL, O_DISCOUNTS, O_SHIPPING, O_TAX, O_TOTAL, O_REFUNDED, \
    O_SOURCE, O_CHANNEL, O_LANDING, O_REFERRER, O_UTM_SOURCE, O_UTM_MEDIUM, O_UTM_CAMPAIGN, \
    O_CODE, O_TAGS, O_GEO, O_INDEX, O_LINES = range(29)
# Line tuple positions: (product index, quantity, unit price, discount) — all ints.
L_PRODUCT, L_QTY, L_PRICE, L_DISCOUNT = range(4)


def _pool(weights: dict, scale: float = 1.0) -> list:
    out: list = []
    for key, w in weights.items():
        out.extend([key] * max(1, round(w * scale)))
    return out


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower().replace("'", "")


def black_friday(year: int) -> dt.date:
    nov1 = dt.date(year, 11, 1)
    thanksgiving = nov1 + dt.timedelta(days=(3 - nov1.weekday()) % 7 + 21)
    return thanksgiving + dt.timedelta(days=1)


class Calendar:
    """Per-day facts for the 730 days ending at `end_date` (index 729)."""

    def __init__(self, end_date: dt.date):
        self.end_date = end_date
        self.start = end_date - dt.timedelta(days=DAYS - 1)
        epoch0 = int(dt.datetime.combine(self.start, dt.time(), dt.UTC).timestamp())
        self.epoch = [epoch0 + d * DAY for d in range(DAYS)]
        self.end_ts = self.epoch[-1] + DAY - 1
        dates = [self.start + dt.timedelta(days=d) for d in range(DAYS)]
        self.dates = dates
        bfs = {black_friday(y) for y in range(self.start.year, end_date.year + 1)}
        self.bfcm = [any(0 <= (x - bf).days <= 3 for bf in bfs) for x in dates]
        self.december = [x.month == 12 and x.day <= 24 for x in dates]
        self.spring = [(x.month, x.day) >= (3, 15) and (x.month, x.day) <= (4, 15) for x in dates]
        self.summer = [x.month in (6, 7, 8) for x in dates]
        self.autumn = [x.month in (9, 10, 11) for x in dates]
        self.holiday = [x.month == 12 or (x.month == 11 and x.day >= 15) for x in dates]
        # A November order before Black Friday may be held back to it: the day to move to.
        self.hold_to = [-1] * DAYS
        for d, x in enumerate(dates):
            if x.month == 11:
                bf = black_friday(x.year)
                if x < bf:
                    target = d + (bf - x).days
                    if target < DAYS:
                        self.hold_to[d] = target
        month_factor = {1: 0.75, 2: 0.8, 3: 0.95, 4: 1.0, 5: 0.9, 6: 0.9, 7: 0.85, 8: 0.9,
                        9: 1.0, 10: 1.05, 11: 1.25, 12: 1.6}
        weights = []
        for d, x in enumerate(dates):
            w = (0.55 + 0.9 * d / DAYS) * month_factor[x.month] * (1.08 if x.weekday() < 5 else 0.92)
            if self.bfcm[d]:
                w *= 4.0
            elif x.month == 12 and 1 <= x.day <= 20:
                w *= 1.3
            elif x.month == 12 and x.day in (25, 26):
                w *= 0.4
            weights.append(w)
        self.arrival_pool = _pool(dict(enumerate(weights)), 40)
        hours = {0: 1, 1: 0.5, 2: 0.3, 3: 0.2, 4: 0.2, 5: 0.4, 6: 1, 7: 2, 8: 3, 9: 4, 10: 4.5,
                 11: 4.5, 12: 5, 13: 4.5, 14: 4, 15: 3.8, 16: 3.6, 17: 3.5, 18: 3.8, 19: 4.5,
                 20: 5, 21: 4.5, 22: 3, 23: 2}
        self.hour_pool = [h * 3600 for h in _pool(hours, 4)]


def iter_store(customers: int, seed: int, end_date: dt.date) -> Iterator[tuple[tuple, list]]:
    """Every customer with their orders (oldest first), deterministically from `seed`."""
    rng = random.Random(seed)
    rnd = rng.random
    cal = Calendar(end_date)
    epoch, end_ts, arrival_pool, hour_pool = cal.epoch, cal.end_ts, cal.arrival_pool, cal.hour_pool
    n_arrival, n_hour = len(arrival_pool), len(hour_pool)
    bfcm, december, spring, summer, autumn, holiday, hold_to = (
        cal.bfcm, cal.december, cal.spring, cal.summer, cal.autumn, cal.holiday, cal.hold_to)
    last_day = DAYS - 1

    products = c.PRODUCTS
    price_of = [p.price for p in products]
    taxable = [p.taxable for p in products]
    ships = [p.requires_shipping for p in products]
    P = c.P
    is_bean = [p.key in c.BEANS for p in products]
    first_pool = [P[k] for k in _pool(c.FIRST_PRODUCT)]
    later_pools = {P[k]: [P[x] for x in _pool(v)] for k, v in c.LATER_PRODUCT.items()}
    addon_pool = [P[k] for k in _pool(c.ADDONS)]
    source_pool = _pool(c.SOURCE_WEIGHTS, 0.2)
    channel_of = c.CHANNEL_OF_SOURCE
    utm_pool = _pool({k: v[2] for k, v in c.UTM_SOURCES.items()})
    utm_info = c.UTM_SOURCES
    geo_pool = _pool({i: g[-1] for i, g in enumerate(c.GEO)})
    geos = c.GEO
    firsts = [(n, _ascii(n)) for n in c.FIRST_NAMES]
    lasts = [(n, _ascii(n)) for n in c.LAST_NAMES]
    domains = c.EMAIL_DOMAINS
    landing_pages = c.LANDING_PAGES
    organic = c.ORGANIC_REFERRERS
    evergreen, newsletter_campaigns = c.EVERGREEN_CAMPAIGNS, c.NEWSLETTER_CAMPAIGNS
    pct = c.DISCOUNT_CODES
    p_refill, p_holiday, p_pumpkin, p_advent, p_gift = (
        P["refill"], P["holiday"], P["pumpkin"], P["advent"], P["giftcard"])
    bean_keys = [P[k] for k in ("refill", "espresso", "decaf", "ethiopia", "coldbrew")]

    order_seq = 0
    for i in range(customers):
        cid = c.CUSTOMER_ID_BASE + i + 1
        first, first_a = firsts[int(rnd() * len(firsts))]
        last, last_a = lasts[int(rnd() * len(lasts))]
        email = f"{first_a}.{last_a}{i + 1}@{domains[int(rnd() * len(domains))]}"
        geo = geo_pool[int(rnd() * len(geo_pool))]
        g = geos[geo]
        domestic = g[3] in ("CA", "US")
        phone = (f"+1{g[6]}555{int(rnd() * 10000):04d}"
                 if domestic and g[6] and rnd() < 0.35 else None)
        day = arrival_pool[int(rnd() * n_arrival)]
        created = epoch[day] + hour_pool[int(rnd() * n_hour)] + int(rnd() * 3600)
        r = rnd()
        hunter = rnd() < 0.08
        reviewer = rnd() < 0.04
        sms = rnd() < 0.12
        wholesale = False
        note = None
        company = None
        tags: list[str] = []
        orders: list[tuple] = []
        spent = 0
        counted = 0
        if r < 0.10:  # signed up, never ordered
            accepts = rnd() < 0.6
            if accepts and rnd() < 0.7:
                tags.append("newsletter")
            updated = created
        else:
            h = rnd()
            if h < 0.50:
                habit, n_planned, gap = 0, 1, 0.0
            elif h < 0.83:
                habit, n_planned, gap = 1, 2 + int(rng.expovariate(0.4)), 60.0
            elif h < 0.955:
                habit, n_planned, gap = 2, 5 + int(rng.expovariate(0.06)), 28.0
            else:
                habit, n_planned, gap = 3, 3 + int(rng.expovariate(0.06)), 30.0
            gap *= 0.6 + 0.8 * rnd()
            wholesale = habit == 2 and rnd() < 0.08
            if wholesale:
                company = c.COMPANIES[int(rnd() * len(c.COMPANIES))]
            primary = source_pool[int(rnd() * len(source_pool))]
            if wholesale:
                primary = "shopify_draft_order"
            elif habit == 3:
                primary = "web"
            local = primary == "pos" or (g[1] == "ON" and rnd() < 0.05)
            accepts = rnd() < (0.55 if habit else 0.4)
            vip_like = habit == 2 and rnd() < 0.5
            fav_bean = bean_keys[int(rnd() * len(bean_keys))]
            first_product = first_pool[int(rnd() * len(first_pool))]
            if habit == 3:
                first_product = fav_bean if rnd() < 0.6 else P["starter"]
            later_pool = later_pools.get(first_product, later_pools[P["espresso"]])
            tax_bp = 0 if wholesale else g[7]
            ship_fee = 0 if not domestic else (999 if g[3] == "CA" else 899)
            if not domestic:
                ship_fee = 1999
            ts = created + int(rnd() * 1800)
            d = day
            k = 0
            while True:
                # ---- one order ------------------------------------------------------------
                order_seq += 1
                first_order = k == 0
                source = primary if (first_order or rnd() < 0.75) else source_pool[int(rnd() * len(source_pool))]
                if habit == 3 and not first_order:
                    source = "web"
                is_test = rnd() < 0.0005
                if is_test:
                    source = "web"
                # what is bought
                main = first_product if first_order else later_pool[int(rnd() * len(later_pool))]
                if habit == 3 and not first_order:
                    main = fav_bean if rnd() < 0.8 else p_refill
                if is_bean[main]:
                    if holiday[d] and rnd() < 0.3:
                        main = p_holiday
                    elif autumn[d] and rnd() < 0.15:
                        main = p_pumpkin
                if december[d] and rnd() < 0.04:
                    main = p_advent
                q = 1
                if wholesale:
                    q = 6 + int(rnd() * 19)
                elif is_bean[main]:
                    x = rnd()
                    q = 1 if x < 0.78 else (2 if x < 0.95 else 3)
                lines = [[main, q, price_of[main], 0]]
                if habit != 3:
                    x = rnd()
                    n_add = 0 if x < 0.48 else (1 if x < 0.8 else 2)
                    for _ in range(n_add):
                        a = addon_pool[int(rnd() * len(addon_pool))]
                        if a != main and all(a != ln[0] for ln in lines):
                            lines.append([a, 2 if rnd() < 0.08 else 1, price_of[a], 0])
                gross = 0
                for ln in lines:
                    gross += ln[1] * ln[2]
                # when, how found
                order_tags: list[str] = []
                if habit == 3 and not first_order:
                    order_tags.append("subscription")
                if wholesale:
                    order_tags.append("wholesale")
                if (december[d] and rnd() < 0.15) or (main == p_gift and rnd() < 0.4):
                    order_tags.append("gift")
                landing = referrer = utm_s = utm_m = utm_c = None
                if source == "web":
                    if not is_test and rnd() < (0.5 if first_order else 0.3):
                        utm_s = utm_pool[int(rnd() * len(utm_pool))]
                        utm_m, referrer, _w = utm_info[utm_s]
                        if bfcm[d] and rnd() < 0.7:
                            utm_c = "black_friday"
                        elif december[d] and rnd() < 0.5:
                            utm_c = "holiday_gift_guide"
                        elif spring[d] and rnd() < 0.6:
                            utm_c = "spring_sale"
                        elif summer[d] and rnd() < 0.4:
                            utm_c = "summer_cold_brew"
                        elif utm_s == "newsletter":
                            utm_c = newsletter_campaigns[int(rnd() * 2)]
                        else:
                            utm_c = evergreen[int(rnd() * 3)]
                        page = landing_pages[int(rnd() * len(landing_pages))]
                        landing = f"{page}?utm_source={utm_s}&utm_medium={utm_m}&utm_campaign={utm_c}"
                        referrer = referrer or None
                    else:
                        landing = landing_pages[int(rnd() * len(landing_pages))]
                        referrer = organic[int(rnd() * len(organic))] or None
                    if local and rnd() < 0.2:
                        order_tags.append("local-pickup")
                elif source in ("facebook", "instagram"):
                    landing = "/products/" + ("coffee-starter-kit" if main == P["starter"] else "coffee-beans-refill")
                    referrer = "https://l.facebook.com/" if source == "facebook" else "https://l.instagram.com/"
                # discounts
                code = None
                if source in ("web", "facebook", "instagram") and not is_test:
                    x = rnd()
                    if first_order and x < 0.18:
                        code = "WELCOME10"
                    elif bfcm[d] and x < 0.55:
                        code = "BFCM25"
                    elif spring[d] and x < 0.3:
                        code = "SPRING15"
                    elif december[d] and x < 0.2:
                        code = "HOLIDAY15"
                    elif utm_s == "tiktok" and x < 0.5:
                        code = "TIKTOK15"
                    elif vip_like and x < 0.25:
                        code = "LOYAL20"
                    elif (hunter and x < 0.8) or x < 0.03:
                        code = "SAVE10"
                replacement = (not first_order and not wholesale and habit != 3 and not is_test
                               and rnd() < 0.004)
                discounts = 0
                if replacement:
                    source, code, landing, referrer = "shopify_draft_order", None, None, None
                    utm_s = utm_m = utm_c = None
                    order_tags.append("replacement")
                    for ln in lines:
                        ln[3] = ln[1] * ln[2]
                    discounts = gross
                elif code:
                    p = pct[code]
                    for ln in lines:
                        ln[3] = ln[1] * ln[2] * p // 100
                        discounts += ln[3]
                subtotal = gross - discounts
                needs_ship = any(ships[ln[0]] for ln in lines)
                if (replacement or not needs_ship or source in ("pos", "amazon")
                        or "local-pickup" in order_tags or subtotal >= 7500):
                    shipping = 0
                else:
                    shipping = ship_fee
                if replacement:
                    tax = 0
                else:
                    base = shipping
                    for ln in lines:
                        if taxable[ln[0]]:
                            base += ln[1] * ln[2] - ln[3]
                    tax = (base * tax_bp + 5000) // 10000
                total = subtotal + shipping + tax
                # what happened afterwards
                cancelled = None
                refunded = 0
                financial = "paid"
                x = rnd()
                if is_test:
                    order_tags.append("test")
                if x < 0.02 and not replacement:
                    cancelled = min(ts + 3600 + int(rnd() * 6 * DAY), end_ts)  # up to a week on
                    financial = "voided"
                    fulfillment = "unfulfilled"
                    updated = cancelled
                else:
                    recent = ts > end_ts - 2 * DAY and source not in ("pos", "amazon")
                    fulfillment = "unfulfilled" if recent else "fulfilled"
                    updated = ts if recent else min(ts + 6 * 3600 + int(rnd() * 3 * DAY), end_ts)
                    if x < 0.05 and total > 0:
                        updated = min(ts + 3 * DAY + int(rnd() * 17 * DAY), end_ts)
                        if x < 0.03:
                            refunded, financial = total, "refunded"
                        else:
                            refunded = max(100, total * (20 + int(rnd() * 40)) // 100)
                            financial = "partially_refunded"
                if "local-pickup" in order_tags and "local" not in tags:
                    tags.append("local")
                index = None
                if cancelled is None and not is_test:
                    counted += 1
                    index = counted
                    spent += total - refunded
                orders.append((
                    c.ORDER_ID_BASE + order_seq, c.FIRST_ORDER_NUMBER + order_seq - 1, cid, email,
                    ts, ts, updated, cancelled, is_test, financial, fulfillment, subtotal,
                    discounts, shipping, tax, total, refunded, source, channel_of[source], landing,
                    referrer, utm_s, utm_m, utm_c, code, tuple(order_tags), geo, index,
                    [tuple(ln) for ln in lines],
                ))
                # ---- the next one ----------------------------------------------------------
                k += 1
                if k >= n_planned:
                    break
                if habit == 3:
                    step = gap - 3 + rnd() * 6
                else:
                    step = gap * (0.25 + rng.expovariate(1.0) * 0.75)
                nd = d + max(1, int(step))
                if nd > last_day:
                    break
                if habit != 3 and hold_to[nd] >= 0 and rnd() < 0.4:
                    nd = hold_to[nd] + int(rnd() * 4)
                    if nd > last_day:
                        break
                d = nd
                ts = epoch[d] + hour_pool[int(rnd() * n_hour)] + int(rnd() * 3600)
                if ts > end_ts:
                    break
            updated = max(created, orders[-1][O_UPDATED])
            if accepts and rnd() < 0.7:
                tags.append("newsletter")
            if counted >= 8 or spent >= 100_000:
                tags.append("vip")
            if wholesale:
                tags.append("wholesale")
            if habit == 3:
                tags.append("subscriber")
            if primary == "pos" and "local" not in tags:
                tags.append("local")
            if wholesale or rnd() < 0.01:
                note = c.CUSTOMER_NOTES[int(rnd() * len(c.CUSTOMER_NOTES))]
        if reviewer:
            tags.append("reviewer")
        customer = (cid, email, first, last, phone, created, updated, tuple(tags), company, geo,
                    accepts, sms, wholesale, note, spent, counted)
        yield customer, orders
