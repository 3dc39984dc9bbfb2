"""Generate the built-in `arithmetic` problem set (`sml_cli/data/arithmetic.jsonl`).

    uv run python -m sml_cli.data.generate_arithmetic

rewrites the file. The output is a pure function of the code below and the seed: a test
regenerates the set and compares it with the committed file.

Every problem comes from a template that draws names, objects and numbers, computes the
answer with exact `Fraction` arithmetic and writes a worked solution, one step a line, in
the form `<label>: <arithmetic expression> = <value>` (numbers and + - * / ( ) only), so
that each step — and the answer, the value of the last step — can be checked by evaluating
it. Numbers are drawn so that every value is a whole number or a terminating decimal (money
to the cent), and a draw whose answer also occurs as a number in the question is redrawn
(the leak guard ignores numbers that occur in the question).
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

SEED = 2026
PER_TEMPLATE = 9
MAX_DRAWS = 200
OUTPUT = Path(__file__).with_name("arithmetic.jsonl")

Number = int | Fraction


class Retry(Exception):
    """The numbers drawn do not suit the template (inexact, negative, implausible): redraw."""


# ----------------------------------------------------------------------------- formatting


def num(x: Number) -> str:
    """An exact value as a plain decimal: 12, 12.5, 0.25. Refuses repeating decimals."""
    x = Fraction(x)
    if x < 0:
        raise Retry
    places = 0
    while (x * 10**places).denominator != 1:
        places += 1
        if places > 6:
            raise Retry  # 1/3 and friends: not an exact decimal
    if places == 0:
        return str(x.numerator)
    digits = str(int(x * 10**places)).rjust(places + 1, "0")
    return f"{digits[:-places]}.{digits[-places:]}"


def money(x: Number) -> str:
    """A price as written in a question: $12 or $12.50 (cents only, else redraw)."""
    x = Fraction(x)
    if x < 0 or (x * 100).denominator != 1:
        raise Retry
    if x.denominator == 1:
        return f"${x.numerator}"
    cents = int(x * 100)
    return f"${cents // 100}.{cents % 100:02d}"


def cents_ok(*values: Number) -> None:
    for v in values:
        if Fraction(v) < 0 or (Fraction(v) * 100).denominator != 1:
            raise Retry


def positive(*values: Number) -> None:
    for v in values:
        if Fraction(v) <= 0:
            raise Retry


def whole(*values: Number) -> None:
    for v in values:
        if Fraction(v).denominator != 1 or Fraction(v) <= 0:
            raise Retry


def price(rng: random.Random, low: float, high: float, step: int = 25) -> Fraction:
    """A price between low and high dollars, a multiple of `step` cents."""
    cents = rng.randrange(int(low * 100), int(high * 100) + 1, step)
    return Fraction(cents, 100)


def an(noun: str) -> str:
    """The noun with its indefinite article, capitalised for the start of a sentence."""
    return ("An " if noun[0] in "aeiou" else "A ") + noun


def hours(x: Number) -> str:
    return "1 hour" if x == 1 else f"{num(x)} hours"


def frac(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}"


# ----------------------------------------------------------------------------- drafts


@dataclass
class Draft:
    question: str = ""
    notes: str = ""
    steps: list[tuple[str, str, Fraction]] = field(default_factory=list)

    def step(self, label: str, expression: str, value: Number) -> Fraction:
        """One worked step. `value` is computed by the template with Fractions; `expression`
        is how the step is written. The tests check that the two agree."""
        value = Fraction(value)
        num(value)  # must be an exact decimal
        self.steps.append((label, expression, value))
        return value

    @property
    def answer(self) -> Fraction:
        return self.steps[-1][2]

    def solution(self) -> str:
        return "\n".join(f"{label}: {expr} = {num(value)}" for label, expr, value in self.steps)


NAMES = [
    "Amara", "Bilal", "Chen", "Dana", "Elif", "Farid", "Greta", "Hana", "Ines", "Jonas",
    "Kofi", "Leila", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sami", "Tomas",
    "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carmen", "Dmitri",
    "Esther", "Femi", "Gustav", "Harriet", "Ivan", "Jamila", "Kenji", "Lucia", "Marek", "Noor",
]

# (singular, plural)
SHOP_ITEMS = [
    ("notebook", "notebooks"), ("pen", "pens"), ("mango", "mangoes"), ("loaf of bread",
    "loaves of bread"), ("bottle of water", "bottles of water"), ("pack of cards",
    "packs of cards"), ("candle", "candles"), ("bar of soap", "bars of soap"), ("ball of yarn",
    "balls of yarn"), ("jar of honey", "jars of honey"), ("sketchbook", "sketchbooks"),
    ("packet of seeds", "packets of seeds"), ("tennis ball", "tennis balls"),
    ("coffee mug", "coffee mugs"), ("bunch of flowers", "bunches of flowers"),
]
SHARE_ITEMS = ["stickers", "marbles", "trading cards", "crayons", "seashells", "beads",
               "chocolates", "stamps", "postcards", "buttons"]
GARDENS = ["garden", "vegetable plot", "paddock", "playground", "courtyard", "dog run"]
VEHICLES = [("car", "drives"), ("truck", "drives"), ("motorbike", "rides"), ("bus", "drives")]


def who(rng: random.Random, k: int = 1) -> list[str]:
    return rng.sample(NAMES, k)


# ----------------------------------------------------------------------------- templates
# Each template draws one problem. The numbers are chosen so that the arithmetic is exact;
# a draw that does not work out raises Retry.


def shopping_change(rng: random.Random) -> Draft:
    d = Draft(notes="Add up the whole bill first, then subtract it from the amount paid.")
    (name,) = who(rng)
    (_, p1), (_, p2) = rng.sample(SHOP_ITEMS, 2)
    a, b = rng.randint(2, 7), rng.randint(2, 6)
    c1, c2 = price(rng, 0.75, 6), price(rng, 0.5, 9)
    if rng.random() < 0.3:
        total = d.step(f"Cost of the {p1}", f"{a} * {num(c1)}", a * c1)
        bill = next((v for v in (10, 20, 50) if v > total), None)
        if bill is None:
            raise Retry
        d.step("Change", f"{bill} - {num(total)}", bill - total)
        d.question = (
            f"{name} buys {a} {p1} at {money(c1)} each and pays with a {money(bill)} note. "
            f"How much change, in dollars, does {name} get back?"
        )
        return d
    t1 = d.step(f"Cost of the {p1}", f"{a} * {num(c1)}", a * c1)
    t2 = d.step(f"Cost of the {p2}", f"{b} * {num(c2)}", b * c2)
    total = d.step("Total cost", f"{num(t1)} + {num(t2)}", t1 + t2)
    bill = next((v for v in (20, 50, 100) if v > total), None)
    if bill is None:
        raise Retry
    d.step("Change", f"{bill} - {num(total)}", bill - total)
    d.question = (
        f"{name} buys {a} {p1} at {money(c1)} each and {b} {p2} at {money(c2)} each, and pays "
        f"with a {money(bill)} note. How much change, in dollars, does {name} get back?"
    )
    return d


def unit_price(rng: random.Random) -> Draft:
    d = Draft(notes="Find the price of a single item first.")
    singular, plural = rng.choice(SHOP_ITEMS)
    n = rng.choice([4, 5, 6, 8, 10, 12, 20])
    unit = price(rng, 0.4, 4.5, 5)
    m = rng.randint(3, 30)
    if m == n:
        raise Retry
    pack = n * unit
    each = d.step(f"Price of one {singular}", f"{num(pack)} / {n}", pack / n)
    d.step(f"Cost of {m} {plural}", f"{num(each)} * {m}", each * m)
    d.question = (
        f"A shop sells {plural} in packs of {n} for {money(pack)} a pack. At the same price per "
        f"{singular}, how much, in dollars, would {m} {plural} cost?"
    )
    return d


def two_leg_trip(rng: random.Random) -> Draft:
    (name,) = who(rng)
    vehicle, verb = rng.choice(VEHICLES)
    v1, v2 = rng.sample(range(40, 115, 5), 2)
    t1, t2 = (Fraction(rng.choice([1, 2, 3, 4, 5, 6]), 2) for _ in range(2))
    d1 = Fraction(v1) * t1
    d2 = Fraction(v2) * t2
    first = (f"{name} {verb} a {vehicle} for {hours(t1)} at {v1} km/h, then for {hours(t2)} at "
             f"{v2} km/h.")
    d = Draft()
    if rng.random() < 0.5:
        d.notes = "Distance = speed * time for each part; then add the parts."
        d.step("Distance in the first part", f"{v1} * {num(t1)}", d1)
        d.step("Distance in the second part", f"{v2} * {num(t2)}", d2)
        d.step("Total distance", f"{num(d1)} + {num(d2)}", d1 + d2)
        d.question = f"{first} How many kilometres does {name} travel in total?"
    else:
        d.notes = ("Average speed is total distance divided by total time, not the average of "
                   "the two speeds.")
        d.step("Distance in the first part", f"{v1} * {num(t1)}", d1)
        d.step("Distance in the second part", f"{v2} * {num(t2)}", d2)
        total = d.step("Total distance", f"{num(d1)} + {num(d2)}", d1 + d2)
        avg = total / (t1 + t2)
        if avg == Fraction(v1 + v2, 2):
            raise Retry  # the naive average would also be right
        d.step("Average speed", f"{num(total)} / ({num(t1)} + {num(t2)})", avg)
        d.question = (f"{first} What is the average speed, in km/h, for the whole trip?")
    return d


def trip_minutes(rng: random.Random) -> Draft:
    d = Draft(notes="Time in hours is distance divided by speed; convert hours to minutes.")
    v = rng.choice(range(40, 125, 5))
    hours = Fraction(rng.choice([3, 5, 6, 7, 9, 10, 11, 13, 14, 15]), 4)
    dist = v * hours
    whole(dist)
    vehicle = rng.choice(["train", "ferry", "coach", "tram"])
    h = d.step("Time in hours", f"{num(dist)} / {v}", dist / v)
    minutes = d.step("Time in minutes", f"{num(h)} * 60", h * 60)
    if rng.random() < 0.5:
        stop = rng.choice([5, 8, 10, 12, 15, 20, 25])
        d.step("Including the stop", f"{num(minutes)} + {stop}", minutes + stop)
        d.question = (
            f"A {vehicle} covers {num(dist)} km at a steady {v} km/h, plus one {stop}-minute "
            f"stop on the way. How many minutes does the whole journey take?"
        )
    else:
        d.question = (
            f"A {vehicle} travels {num(dist)} km at a steady {v} km/h. How many minutes does "
            f"the journey take?"
        )
    return d


def fence_cost(rng: random.Random) -> Draft:
    d = Draft(notes="The perimeter of a rectangle is 2 * (length + width).")
    place = rng.choice(GARDENS)
    length, width = rng.randint(8, 40), rng.randint(5, 25)
    if width >= length:
        raise Retry
    cost = price(rng, 3, 15, 50)
    per = d.step("Perimeter", f"2 * ({length} + {width})", 2 * (length + width))
    if rng.random() < 0.6:
        gate = rng.randint(1, 4)
        need = d.step("Fencing needed without the gate", f"{per} - {gate}", per - gate)
        d.step("Cost of the fencing", f"{num(need)} * {num(cost)}", need * cost)
        d.question = (
            f"A rectangular {place} is {length} m long and {width} m wide. A fence goes all the "
            f"way around it except for a gate {gate} m wide, which is not fencing. Fencing costs "
            f"{money(cost)} per metre. How much, in dollars, does the fencing cost?"
        )
    else:
        d.step("Cost of the fencing", f"{num(per)} * {num(cost)}", per * cost)
        d.question = (
            f"A rectangular {place} is {length} m long and {width} m wide. Fencing costs "
            f"{money(cost)} per metre. How much, in dollars, does it cost to fence the whole "
            f"{place}?"
        )
    return d


def floor_tiles(rng: random.Random) -> Draft:
    d = Draft(notes="Find the floor area, then divide by the area one box covers.")
    length = Fraction(rng.randint(6, 20), 2)
    width = Fraction(rng.randint(5, 14), 2)
    cover = rng.choice([Fraction(3, 2), Fraction(2), Fraction(5, 2), Fraction(3), Fraction(4)])
    area = d.step("Floor area", f"{num(length)} * {num(width)}", length * width)
    boxes = area / cover
    whole(boxes)
    room = rng.choice(["kitchen", "hallway", "bathroom", "studio", "workshop", "classroom"])
    base = (f"A {room} floor is {num(length)} m long and {num(width)} m wide. One box of tiles "
            f"covers {num(cover)} square metres.")
    d.step("Boxes needed", f"{num(area)} / {num(cover)}", boxes)
    if rng.random() < 0.5:
        box_price = price(rng, 12, 45, 50)
        d.step("Cost of the boxes", f"{num(boxes)} * {num(box_price)}", boxes * box_price)
        d.question = (f"{base} Each box costs {money(box_price)}. How much, in dollars, do the "
                      f"tiles for the whole floor cost?")
    else:
        d.question = f"{base} How many boxes are needed to cover the floor exactly?"
    return d


def sharing_remainder(rng: random.Random) -> Draft:
    variant = rng.random()
    if variant < 0.4:
        d = Draft(notes="Find how many are handed out when each gets the largest equal share; "
                        "the rest are left over.")
        (name,) = who(rng)
        thing = rng.choice(SHARE_ITEMS)
        k = rng.randint(3, 12)
        n = rng.randint(30, 200)
        q, r = divmod(n, k)
        if r == 0:
            raise Retry
        given = d.step(f"Handed out when each friend gets {q}", f"{k} * {q}", k * q)
        d.step("Left over", f"{n} - {num(given)}", n - given)
        d.question = (
            f"{name} has {n} {thing} and shares them equally among {k} friends, giving each "
            f"friend as many as possible so that every friend gets the same number. How many "
            f"{thing} are left over?"
        )
    elif variant < 0.75:
        d = Draft(notes="A partly filled bus still counts: round the number of buses up.")
        cap = rng.choice([24, 30, 35, 40, 45, 48, 52, 56])
        n = rng.randint(cap + 10, cap * 7)
        q, r = divmod(n, cap)
        if r == 0:
            raise Retry
        buses = "1 full bus" if q == 1 else f"{q} full buses"
        full = d.step(f"Students in {buses}", f"{q} * {cap}", q * cap)
        d.step("Students still without a seat", f"{n} - {num(full)}", n - full)
        d.step("Buses needed", f"{q} + 1", q + 1)
        d.question = (
            f"A school is taking {n} students on a trip. Each bus can carry at most {cap} "
            f"students. What is the smallest number of buses needed so that every student has "
            f"a seat?"
        )
    else:
        d = Draft(notes="Only full cartons count: use the whole number of cartons, ignoring the "
                        "leftover eggs.")
        size = rng.choice([6, 10, 12, 15, 18])
        n = rng.randint(size * 8, size * 40)
        q, r = divmod(n, size)
        if r == 0:
            raise Retry
        each = price(rng, 1.5, 6, 25)
        d.step(f"Eggs in {q} full cartons", f"{q} * {size}", q * size)
        d.step("Eggs left over", f"{n} - {q * size}", r)
        d.step("Money from the full cartons", f"{q} * {num(each)}", q * each)
        d.question = (
            f"A farm collects {n} eggs and packs them into cartons of {size}. Only full cartons "
            f"are sold, at {money(each)} per carton; leftover eggs are not sold. How much money, "
            f"in dollars, do the full cartons bring in?"
        )
    return d


def discount(rng: random.Random) -> Draft:
    d = Draft()
    (name,) = who(rng)
    item = rng.choice(["jacket", "bicycle helmet", "backpack", "lamp", "pair of boots",
                       "board game", "desk chair", "rain coat", "suitcase", "blender"])
    full = Fraction(rng.randrange(20, 250, 2))
    pct = rng.choice([10, 15, 20, 25, 30, 35, 40, 50])
    off = d.step("Discount", f"{num(full)} * {pct} / 100", full * pct / 100)
    sale = d.step("Sale price", f"{num(full)} - {num(off)}", full - off)
    variant = rng.random()
    start = f"A {item} normally costs {money(full)}. It is on sale for {pct}% off."
    if variant < 0.35:
        d.notes = "Take the percentage of the original price, then subtract it."
        d.question = f"{start} What is the sale price, in dollars?"
    elif variant < 0.65:
        coupon = rng.choice([2, 3, 5, 8, 10])
        if coupon >= sale:
            raise Retry
        d.notes = "Apply the percentage discount first, then the coupon."
        d.step("After the coupon", f"{num(sale)} - {coupon}", sale - coupon)
        d.question = (f"{start} {name} also has a coupon for {money(coupon)} off, used after the "
                      f"percentage discount. How much, in dollars, does {name} pay?")
    else:
        tax = rng.choice([5, 8, 10, 12])
        t = d.step("Sales tax on the sale price", f"{num(sale)} * {tax} / 100", sale * tax / 100)
        cents_ok(t)
        d.notes = "The tax is charged on the discounted price, not on the original price."
        d.step("Price paid", f"{num(sale)} + {num(t)}", sale + t)
        d.question = (f"{start} {name} buys it, and a sales tax of {tax}% is added to the sale "
                      f"price. How much, in dollars, does {name} pay for the {item}?")
    cents_ok(*(v for _, _, v in d.steps))
    return d


def percent_growth(rng: random.Random) -> Draft:
    d = Draft()
    what = rng.choice([("town", "residents"), ("running club", "members"),
                       ("online forum", "registered users"), ("school", "pupils"),
                       ("library", "card holders")])
    place, people = what
    base = rng.randrange(200, 5000, 20)
    r1 = rng.choice([5, 10, 15, 20, 25, 30])
    if rng.random() < 0.4:
        d.notes = "Work out the increase as a percentage of the starting number, then add it."
        inc = d.step("Increase", f"{base} * {r1} / 100", Fraction(base * r1, 100))
        d.step("New total", f"{base} + {num(inc)}", base + inc)
        whole(inc)
        d.question = (f"{an(place)} had {base} {people}. The number grew by {r1}% over one year. "
                      f"How many {people} did it have at the end of the year?")
    else:
        r2 = rng.choice([4, 5, 10, 20, 25, 50])
        d.notes = ("The second percentage applies to the number after the first year's growth, "
                   "not to the starting number.")
        inc1 = d.step("Increase in the first year", f"{base} * {r1} / 100",
                      Fraction(base * r1, 100))
        after1 = d.step("After the first year", f"{base} + {num(inc1)}", base + inc1)
        inc2 = d.step("Increase in the second year", f"{num(after1)} * {r2} / 100",
                      after1 * r2 / 100)
        d.step("After the second year", f"{num(after1)} + {num(inc2)}", after1 + inc2)
        whole(inc1, inc2)
        d.question = (f"{an(place)} had {base} {people}. The number grew by {r1}% in the first "
                      f"year, and then by {r2}% in the second year. How many {people} did it "
                      f"have after the two years?")
    return d


def ages_sum(rng: random.Random) -> Draft:
    d = Draft(notes="Both people age by the same number of years; remove those years from the "
                    "future total, then split it in parts.")
    a, b = who(rng, 2)
    k = rng.choice([2, 3, 4, 5])
    young = rng.randint(3, 15)
    old = k * young
    years = rng.randint(2, 10)
    future = old + young + 2 * years
    now = d.step("Sum of their ages now", f"{future} - 2 * {years}", future - 2 * years)
    y = d.step(f"{b}'s age now", f"{num(now)} / ({k} + 1)", now / (k + 1))
    times = {2: "twice", 3: "3 times", 4: "4 times", 5: "5 times"}[k]
    if rng.random() < 0.5:
        d.step(f"{a}'s age now", f"{k} * {num(y)}", k * y)
        ask = a
    else:
        ask = b
    d.question = (f"{a} is {times} as old as {b}. In {years} years, the sum of their ages will "
                  f"be {future}. How old is {ask} now?")
    return d


def age_difference(rng: random.Random) -> Draft:
    d = Draft(notes="The age gap never changes; when one is k times as old as the other, the gap "
                    "is (k - 1) times the younger person's age.")
    (child,) = who(rng)
    parent = rng.choice(["mother", "father", "aunt", "uncle", "grandmother", "older cousin"])
    k = rng.choice([2, 3, 4])
    later = rng.randint(8, 20)
    gap = (k - 1) * later
    years = rng.randint(2, later - 2)
    if gap < 18 and parent != "older cousin":
        raise Retry
    future = d.step(f"{child}'s age in {years} years", f"{gap} / ({k} - 1)", Fraction(gap, k - 1))
    now = d.step(f"{child}'s age now", f"{num(future)} - {years}", future - years)
    times = {2: "twice", 3: "3 times", 4: "4 times"}[k]
    if rng.random() < 0.5:
        d.step(f"The {parent}'s age now", f"{num(now)} + {gap}", now + gap)
        ask = f"the {parent}"
    else:
        ask = child
    d.question = (f"{child}'s {parent} is {gap} years older than {child}. In {years} years, the "
                  f"{parent} will be {times} as old as {child}. How old is {ask} now?")
    return d


def ribbon_pieces(rng: random.Random) -> Draft:
    d = Draft(notes="Convert metres to centimetres (1 m = 100 cm) before dividing.")
    (name,) = who(rng)
    material = rng.choice(["ribbon", "rope", "wire", "string", "tape"])
    piece = rng.choice([5, 8, 12, 15, 20, 25, 30, 40, 45])
    count = rng.randint(8, 60)
    total_cm = piece * count
    metres = Fraction(total_cm, 100)
    cm = d.step("Length in centimetres", f"{num(metres)} * 100", metres * 100)
    if rng.random() < 0.5:
        d.step("Number of pieces", f"{num(cm)} / {piece}", cm / piece)
        d.question = (f"{name} has {num(metres)} m of {material} and cuts all of it into pieces "
                      f"that are each {piece} cm long. How many pieces does {name} get?")
    else:
        used = rng.randint(2, count - 2)
        u = d.step(f"Used by {used} pieces", f"{used} * {piece}", used * piece)
        d.step("Left", f"{num(cm)} - {num(u)}", cm - u)
        d.question = (f"{name} has {num(metres)} m of {material} and cuts off {used} pieces, each "
                      f"{piece} cm long. How many centimetres of {material} are left?")
    return d


def jug_glasses(rng: random.Random) -> Draft:
    d = Draft(notes="Convert litres to millilitres (1 litre = 1000 ml) before dividing.")
    drink = rng.choice(["lemonade", "orange juice", "iced tea", "water", "apple juice"])
    glass = rng.choice([150, 200, 250, 300, 400])
    jug = Fraction(rng.choice([3, 4, 5, 6, 7, 8, 9, 10]), 2)
    jugs = rng.randint(2, 9)
    litres = d.step("Total litres", f"{jugs} * {num(jug)}", jugs * jug)
    ml = d.step("Total millilitres", f"{num(litres)} * 1000", litres * 1000)
    glasses = d.step("Glasses filled", f"{num(ml)} / {glass}", ml / glass)
    whole(glasses)
    d.question = (f"A jug holds {num(jug)} litres of {drink}. How many {glass} ml glasses can "
                  f"be filled from {jugs} full jugs, with nothing left over?")
    return d


def practice_hours(rng: random.Random) -> Draft:
    d = Draft(notes="Total the minutes first, then divide by 60 to get hours.")
    (name,) = who(rng)
    activity = rng.choice(["practises the piano", "goes running", "studies Spanish",
                           "practises the violin", "swims", "does yoga"])
    minutes = rng.choice([15, 20, 25, 30, 35, 40, 45, 50])
    days = rng.randint(3, 7)
    weeks = rng.randint(2, 12)
    per_week = d.step("Minutes per week", f"{minutes} * {days}", minutes * days)
    total = d.step(f"Minutes in {weeks} weeks", f"{num(per_week)} * {weeks}", per_week * weeks)
    d.step("Hours", f"{num(total)} / 60", total / 60)
    d.question = (f"{name} {activity} for {minutes} minutes a day, {days} days a week. How many "
                  f"hours is that in {weeks} weeks?")
    return d


def score_needed(rng: random.Random) -> Draft:
    d = Draft(notes="The target average times the number of tests gives the total needed.")
    (name,) = who(rng)
    k = rng.randint(3, 5)
    scores = [rng.randint(60, 98) for _ in range(k)]
    target = rng.randint(72, 92)
    needed_total = d.step("Total needed", f"{target} * {k + 1}", target * (k + 1))
    have = d.step("Total so far", " + ".join(map(str, scores)), sum(scores))
    need = d.step("Score needed", f"{num(needed_total)} - {num(have)}", needed_total - have)
    if not 40 <= need <= 100 or need in scores:
        raise Retry
    listed = ", ".join(map(str, scores[:-1])) + f" and {scores[-1]}"
    d.question = (f"{name} scored {listed} on the first {k} tests of the term (each out of 100). "
                  f"What score does {name} need on test number {k + 1} to have an average of "
                  f"exactly {target} over all {k + 1} tests?")
    return d


def mean_value(rng: random.Random) -> Draft:
    d = Draft(notes="Add all the values, then divide by how many there are.")
    kind = rng.choice(["temps", "pages", "points", "steps"])
    k = rng.choice([4, 5, 6, 8])
    if kind == "temps":
        values = [rng.randint(12, 34) for _ in range(k)]
        text = f"The noon temperatures over {k} days were " + _listing(values, " °C")
        ask = "What was the mean noon temperature, in °C?"
    elif kind == "pages":
        (name,) = who(rng)
        values = [rng.randint(10, 70) for _ in range(k)]
        text = f"Over {k} evenings, {name} read " + _listing(values, " pages")
        ask = "What is the mean number of pages read per evening?"
    elif kind == "points":
        values = [rng.randint(40, 110) for _ in range(k)]
        text = "A basketball team scored " + _listing(values, " points") + f" in its last {k} games"
        ask = "What was the team's mean score per game?"
    else:
        values = [rng.randrange(3000, 12000, 10) for _ in range(k)]
        text = "A fitness tracker counted " + _listing(values, " steps") + f" on {k} days"
        ask = "What was the mean number of steps per day?"
    total = d.step("Sum", " + ".join(map(str, values)), sum(values))
    mean = d.step("Mean", f"{num(total)} / {k}", Fraction(sum(values), k))
    if mean in values:
        raise Retry
    d.question = f"{text}. {ask}"
    return d


def _listing(values: list[int], unit: str) -> str:
    return ", ".join(f"{v}{unit}" for v in values[:-1]) + f" and {values[-1]}{unit}"


def stock_changes(rng: random.Random) -> Draft:
    d = Draft(notes="Follow the changes in order: subtract what leaves, add what arrives.")
    start = rng.randint(150, 900)
    out = rng.randint(20, 120)
    back = rng.randint(5, out)
    place = rng.choice([
        ("A school library", "books", "lent out", "were returned", "boxes", "donated"),
        ("A bike-hire shop", "bikes", "rented out", "were brought back", "crates", "delivered"),
        ("A tool library", "tools", "lent out", "were returned", "crates", "donated"),
        ("A toy library", "toys", "lent out", "were returned", "boxes", "donated"),
    ])
    where, things, lent, came_back, container, given = place
    a = d.step(f"After the {things} {lent}", f"{start} - {out}", start - out)
    b = d.step("After the returns", f"{num(a)} + {back}", a + back)
    if rng.random() < 0.6:
        boxes, per = rng.randint(2, 8), rng.randint(6, 24)
        new = d.step(f"New {things}", f"{boxes} * {per}", boxes * per)
        d.step("Total now", f"{num(b)} + {num(new)}", b + new)
        extra = f" Then {boxes} {container} of {per} new {things} each were {given}."
    else:
        extra = ""
    d.question = (f"{where} had {start} {things}. On Monday {out} {things} were {lent}, and on "
                  f"Tuesday {back} of them {came_back}.{extra} How many {things} does it have "
                  f"on its shelves now?")
    return d


def two_pipes(rng: random.Random) -> Draft:
    d = Draft(notes="Work with litres per hour: the rates of the two pipes add up.")
    ha, hb = rng.sample([2, 3, 4, 5, 6, 8, 10, 12], 2)
    unit = ha * hb // math.gcd(ha, hb)
    cap = unit * rng.randint(2, 20)
    if cap > 3000:
        raise Retry
    ra = d.step("Pipe A's rate in litres per hour", f"{cap} / {ha}", Fraction(cap, ha))
    rb = d.step("Pipe B's rate in litres per hour", f"{cap} / {hb}", Fraction(cap, hb))
    both = d.step("Both together", f"{num(ra)} + {num(rb)}", ra + rb)
    d.step("Hours to fill", f"{cap} / {num(both)}", cap / both)
    d.question = (f"A tank holds {cap} litres. Pipe A alone fills the empty tank in {ha} hours; "
                  f"pipe B alone fills it in {hb} hours. With both pipes open, how many hours "
                  f"does it take to fill the empty tank?")
    return d


def crew_days(rng: random.Random) -> Draft:
    d = Draft(notes="Find how much one worker does in one day, then scale to the new crew.")
    job = rng.choice([("builders", "walls"), ("painters", "rooms"), ("gardeners", "flower beds"),
                      ("bakers", "wedding cakes"), ("tailors", "suits")])
    workers_word, items = job
    rate = rng.choice([Fraction(1, 2), Fraction(1), Fraction(3, 2), Fraction(2), Fraction(3)])
    w1, days1 = rng.randint(2, 8), rng.randint(2, 10)
    made = w1 * days1 * rate
    w2 = rng.randint(2, 12)
    days2 = rng.randint(2, 12)
    target = w2 * days2 * rate
    whole(made, target)
    if w2 == w1:
        raise Retry
    wd = d.step("Worker-days used", f"{w1} * {days1}", w1 * days1)
    per = d.step(f"{items.capitalize()} per worker per day", f"{num(made)} / {num(wd)}", made / wd)
    crew = d.step(f"{items.capitalize()} per day for {w2} {workers_word}", f"{w2} * {num(per)}",
                  w2 * per)
    d.step("Days needed", f"{num(target)} / {num(crew)}", target / crew)
    d.question = (f"A team of {w1} {workers_word} finishes {num(made)} {items} in {days1} days. "
                  f"Working at the same rate, how many days do {w2} {workers_word} need to "
                  f"finish {num(target)} {items}?")
    return d


def fraction_of(rng: random.Random) -> Draft:
    d = Draft()
    fa = rng.choice([Fraction(1, 4), Fraction(3, 8), Fraction(2, 5), Fraction(1, 3),
                     Fraction(3, 5), Fraction(5, 8), Fraction(1, 6), Fraction(2, 3)])
    fb = rng.choice([Fraction(1, 2), Fraction(1, 4), Fraction(1, 3), Fraction(3, 4),
                     Fraction(2, 5)])
    total = rng.randrange(24, 480, 6)
    coll = rng.choice([("A box holds", "marbles", "red", "blue", "green"),
                       ("A garden has", "tulips", "yellow", "red", "white"),
                       ("A bag holds", "sweets", "lemon", "cherry", "mint"),
                       ("A parking lot has", "cars", "white", "black", "silver")])
    lead, things, c1, c2, c3 = coll
    first = d.step(f"{c1.capitalize()} {things}", f"{total} * {fa.numerator} / {fa.denominator}",
                   total * fa)
    rest = d.step("The rest", f"{total} - {num(first)}", total - first)
    if rng.random() < 0.6:
        d.notes = "The second fraction is a fraction of what is left, not of the whole."
        second = d.step(f"{c2.capitalize()} {things}",
                        f"{num(rest)} * {fb.numerator} / {fb.denominator}", rest * fb)
        d.step(f"{c3.capitalize()} {things}", f"{num(rest)} - {num(second)}", rest - second)
        whole(first, second, rest - second)
        d.question = (f"{lead} {total} {things}. {frac(fa)} of them are {c1}. Of the rest, "
                      f"{frac(fb)} are {c2} and the others are {c3}. How many {things} are {c3}?")
    else:
        d.notes = "Find the fraction of the total first; the rest is what remains."
        whole(first, rest)
        d.question = (f"{lead} {total} {things}. {frac(fa)} of them are {c1} and the others are "
                      f"{c2}. How many {things} are {c2}?")
    return d


def overtime_pay(rng: random.Random) -> Draft:
    d = Draft(notes="Only the hours beyond the threshold are paid at the higher rate.")
    (name,) = who(rng)
    base_hours = rng.choice([35, 38, 40])
    rate = Fraction(rng.randrange(1200, 3200, 50), 100)
    factor = rng.choice([Fraction(3, 2), Fraction(2)])
    worked = base_hours + rng.randint(2, 12)
    regular = d.step("Regular pay", f"{base_hours} * {num(rate)}", base_hours * rate)
    extra = d.step("Extra hours", f"{worked} - {base_hours}", worked - base_hours)
    ot = d.step("Overtime pay", f"{num(extra)} * {num(rate)} * {num(factor)}",
                extra * rate * factor)
    d.step("Total pay", f"{num(regular)} + {num(ot)}", regular + ot)
    cents_ok(*(v for _, _, v in d.steps))
    mult = "1.5 times" if factor == Fraction(3, 2) else "double"
    d.question = (f"{name} earns {money(rate)} an hour for the first {base_hours} hours of a week "
                  f"and {mult} that rate for every hour after that. One week {name} works "
                  f"{worked} hours. How much, in dollars, does {name} earn that week?")
    return d


def saving_weeks(rng: random.Random) -> Draft:
    d = Draft(notes="Find how much is still missing, then divide by the weekly saving.")
    (name,) = who(rng)
    item = rng.choice(["bicycle", "guitar", "tablet", "drone", "telescope", "camera"])
    weekly = rng.randint(5, 30)
    weeks = rng.randint(4, 24)
    have = rng.randrange(10, 200, 5)
    if rng.random() < 0.5:
        cost = have + weekly * weeks
        missing = d.step("Still needed", f"{cost} - {have}", cost - have)
        d.step("Weeks", f"{num(missing)} / {weekly}", missing / weekly)
        d.question = (f"{name} wants a {item} that costs {money(cost)}. {name} already has "
                      f"{money(have)} and saves {money(weekly)} every week. After how many weeks "
                      f"will {name} have exactly enough?")
    else:
        allowance = weekly + rng.randint(3, 15)
        spend = allowance - weekly
        cost = have + weekly * weeks
        missing = d.step("Still needed", f"{cost} - {have}", cost - have)
        saved = d.step("Saved per week", f"{allowance} - {spend}", weekly)
        d.step("Weeks", f"{num(missing)} / {num(saved)}", missing / saved)
        d.question = (f"{name} gets {money(allowance)} of pocket money a week, spends "
                      f"{money(spend)} of it and saves the rest. {name} already has {money(have)} "
                      f"saved and wants a {item} that costs {money(cost)}. After how many weeks "
                      f"will {name} have exactly enough?")
    return d


def shape_area(rng: random.Random) -> Draft:
    d = Draft()
    place = rng.choice([*GARDENS, "lawn", "car park"])
    if rng.random() < 0.4:
        d.notes = "All four sides of a square are equal: side = perimeter / 4."
        side = rng.randint(3, 40)
        perim = 4 * side
        s = d.step("Side length", f"{perim} / 4", Fraction(perim, 4))
        d.step("Area", f"{num(s)} * {num(s)}", s * s)
        d.question = (f"A square {place} has a perimeter of {perim} m. What is its area in "
                      f"square metres?")
    else:
        d.notes = ("Half the perimeter is length + width; take away the difference and halve "
                   "what remains to get the width.")
        width = rng.randint(3, 30)
        diff = rng.randint(2, 15)
        length = width + diff
        perim = 2 * (length + width)
        half = d.step("Length plus width", f"{perim} / 2", Fraction(perim, 2))
        w = d.step("Width", f"({num(half)} - {diff}) / 2", (half - diff) / 2)
        ln = d.step("Length", f"{num(w)} + {diff}", w + diff)
        d.step("Area", f"{num(ln)} * {num(w)}", ln * w)
        d.question = (f"A rectangular {place} is {diff} m longer than it is wide, and its "
                      f"perimeter is {perim} m. What is its area in square metres?")
    return d


def tank_litres(rng: random.Random) -> Draft:
    d = Draft(notes="Volume in cubic centimetres divided by 1000 gives litres.")
    length = rng.randrange(30, 150, 10)
    width = rng.randrange(20, 70, 5)
    height = rng.randrange(30, 80, 5)
    if rng.random() < 0.5:
        depth = rng.randrange(10, height, 5)
        v = d.step("Volume of water in cubic cm", f"{length} * {width} * {depth}",
                   length * width * depth)
        d.step("Litres", f"{num(v)} / 1000", v / 1000)
        d.question = (f"A fish tank is {length} cm long, {width} cm wide and {height} cm high. "
                      f"It is filled with water to a depth of {depth} cm. How many litres of "
                      f"water are in it? (1 litre = 1000 cubic cm.)")
    else:
        low = rng.randrange(5, height - 10, 5)
        high = rng.randrange(low + 5, height + 1, 5)
        rise = d.step("Rise in water level", f"{high} - {low}", high - low)
        v = d.step("Volume to add in cubic cm", f"{length} * {width} * {num(rise)}",
                   length * width * rise)
        d.step("Litres", f"{num(v)} / 1000", v / 1000)
        d.question = (f"A fish tank is {length} cm long, {width} cm wide and {height} cm high. "
                      f"The water is {low} cm deep. How many litres of water must be added to "
                      f"make it {high} cm deep? (1 litre = 1000 cubic cm.)")
    return d


def ratio_split(rng: random.Random) -> Draft:
    d = Draft(notes="Add the ratio parts to find what one part is worth.")
    a, b = rng.sample(range(1, 10), 2)
    if math.gcd(a, b) != 1:
        raise Retry
    part = rng.randint(3, 25)
    total = (a + b) * part
    group = rng.choice([("A choir", "sopranos", "altos", "singers"),
                        ("A class", "boys", "girls", "pupils"),
                        ("A fruit bowl", "apples", "pears", "pieces of fruit"),
                        ("A car park", "cars", "vans", "vehicles"),
                        ("A bird count", "sparrows", "finches", "birds")])
    lead, xs, ys, all_ = group
    parts = d.step("Total parts", f"{a} + {b}", a + b)
    one = d.step("One part", f"{total} / {num(parts)}", Fraction(total, a + b))
    if rng.random() < 0.5:
        d.step(ys.capitalize(), f"{num(one)} * {b}", one * b)
        ask = f"How many {ys} are there?"
    else:
        bigger, smaller = max(a, b), min(a, b)
        d.step("Difference", f"{num(one)} * ({bigger} - {smaller})", one * (bigger - smaller))
        more, fewer = (xs, ys) if a > b else (ys, xs)
        ask = f"How many more {more} than {fewer} are there?"
    d.question = (f"{lead} has {total} {all_} in all. The ratio of {xs} to {ys} is {a}:{b}. "
                  f"{ask}")
    return d


def tiered_seats(rng: random.Random) -> Draft:
    d = Draft(notes="Find the last row, then pair first and last rows: average row times number "
                    "of rows.")
    first = rng.randint(8, 30)
    step = rng.randint(1, 4)
    rows = rng.randint(6, 25)
    last = d.step("Seats in the last row", f"{first} + ({rows} - 1) * {step}",
                  first + (rows - 1) * step)
    d.step("Total seats", f"({first} + {num(last)}) * {rows} / 2",
           Fraction((first + last) * rows, 2))
    venue = rng.choice(["theatre", "lecture hall", "stadium stand", "concert hall", "cinema"])
    more = "seat" if step == 1 else "seats"
    d.question = (f"A {venue} has {rows} rows of seats. The front row has {first} seats and each "
                  f"row after it has {step} more {more} than the row in front of it. How many "
                  f"seats are there in total?")
    return d


def split_bill(rng: random.Random) -> Draft:
    d = Draft(notes="Add the tip to the bill before dividing it among the people.")
    n = rng.randint(2, 8)
    bill = price(rng, 30, 240, 50)
    tip = rng.choice([10, 15, 18, 20, 25])
    t = d.step("Tip", f"{num(bill)} * {tip} / 100", bill * tip / 100)
    total = d.step("Bill with tip", f"{num(bill)} + {num(t)}", bill + t)
    d.step("Each person pays", f"{num(total)} / {n}", total / n)
    cents_ok(*(v for _, _, v in d.steps))
    meal = rng.choice(["dinner", "lunch", "brunch", "pizza night", "picnic order"])
    d.question = (f"A group of {n} friends shares the bill for a {meal}. The bill is "
                  f"{money(bill)}, and they add a tip of {tip}% on top. If they split the total "
                  f"equally, how much, in dollars, does each friend pay?")
    return d


def fuel_cost(rng: random.Random) -> Draft:
    d = Draft(notes="Litres used = distance / 100 * litres per 100 km; then multiply by the "
                    "price per litre.")
    use = Fraction(rng.randint(8, 20), 2)
    dist = rng.randrange(50, 800, 50)
    litre = price(rng, 1.2, 2.2, 10)
    (name,) = who(rng)
    if rng.random() < 0.5:
        total_km = d.step("Distance there and back", f"2 * {dist}", 2 * dist)
        trip = f"drives to a town {dist} km away and back"
    else:
        total_km = Fraction(dist)
        trip = f"drives {dist} km"
    fuel = d.step("Fuel used in litres", f"{num(total_km)} / 100 * {num(use)}",
                  total_km / 100 * use)
    d.step("Cost of fuel", f"{num(fuel)} * {num(litre)}", fuel * litre)
    cents_ok(d.answer)
    d.question = (f"{name}'s car uses {num(use)} litres of fuel per 100 km. {name} {trip}. Fuel "
                  f"costs {money(litre)} per litre. How much, in dollars, does the fuel for the "
                  f"trip cost?")
    return d


def working_backwards(rng: random.Random) -> Draft:
    d = Draft(notes="Undo the steps in reverse: what is left is a fraction of the amount before "
                    "each purchase.")
    (name,) = who(rng)
    f1 = rng.choice([Fraction(1, 2), Fraction(1, 3), Fraction(1, 4), Fraction(2, 5),
                     Fraction(1, 5)])
    f2 = rng.choice([Fraction(1, 2), Fraction(1, 3), Fraction(1, 4), Fraction(3, 4),
                     Fraction(2, 3)])
    start = rng.randrange(20, 400, 1)
    after1 = start * (1 - f1)
    after2 = after1 * (1 - f2)
    whole(after1, after2, start * f1, after1 * f2)
    thing1, thing2 = rng.sample(["a book", "a concert ticket", "a jacket", "groceries",
                                 "a gift", "a train ticket", "lunch"], 2)
    before = d.step(f"Money before buying {thing2}",
                    f"{num(after2)} / (1 - {f2.numerator}/{f2.denominator})", after2 / (1 - f2))
    d.step("Money at the start", f"{num(before)} / (1 - {f1.numerator}/{f1.denominator})",
           before / (1 - f1))
    d.question = (f"{name} spent {frac(f1)} of some money on {thing1}, then {frac(f2)} of what "
                  f"was left on {thing2}. {name} now has {money(after2)} left. How much money, in "
                  f"dollars, did {name} have at the start?")
    return d


def bulk_saving(rng: random.Random) -> Draft:
    d = Draft(notes="Price the same quantity both ways and compare.")
    _, plural = rng.choice(SHOP_ITEMS)
    n = rng.choice([4, 6, 8, 10, 12, 24])
    single = price(rng, 0.5, 5, 5)
    loose = n * single
    pack = loose - price(rng, 0.5, float(loose) * 0.4, 5)
    positive(pack)
    packs = rng.randint(1, 4)
    if packs == 1:
        lt = d.step(f"{n} single {plural}", f"{n} * {num(single)}", loose)
        d.step("Saving", f"{num(lt)} - {num(pack)}", lt - pack)
        q = f"How much, in dollars, is saved by buying one pack instead of {n} single {plural}?"
    else:
        items = d.step(f"{plural.capitalize()} in {packs} packs", f"{packs} * {n}", packs * n)
        lt = d.step("Cost as single items", f"{num(items)} * {num(single)}", items * single)
        pt = d.step("Cost as packs", f"{packs} * {num(pack)}", packs * pack)
        d.step("Saving", f"{num(lt)} - {num(pt)}", lt - pt)
        q = (f"How much, in dollars, is saved by buying {packs} packs instead of the same number "
             f"of single {plural}?")
    d.question = (f"Single {plural} cost {money(single)} each, or a pack of {n} costs "
                  f"{money(pack)}. {q}")
    return d


def one_step(rng: random.Random) -> Draft:
    d = Draft(notes="A single multiplication or division.")
    kind = rng.randrange(4)
    if kind == 0:
        per, boxes = rng.choice([12, 16, 24, 36, 48]), rng.randint(7, 40)
        d.step("Total crayons", f"{per} * {boxes}", per * boxes)
        d.question = f"A box holds {per} crayons. How many crayons are there in {boxes} full boxes?"
    elif kind == 1:
        size, bags = rng.choice([4, 5, 6, 8, 9]), rng.randint(12, 90)
        total = size * bags
        d.step("Bags", f"{total} / {size}", Fraction(total, size))
        d.question = (f"A farmer packs {total} apples into bags of {size}, with none left over. "
                      f"How many bags does the farmer fill?")
    elif kind == 2:
        pages, days = rng.randint(12, 45), rng.randint(6, 30)
        (name,) = who(rng)
        d.step("Pages read", f"{pages} * {days}", pages * days)
        d.question = (f"{name} reads {pages} pages every day for {days} days. How many pages "
                      f"does {name} read altogether?")
    else:
        rows, cols = rng.randint(6, 30), rng.randint(6, 30)
        d.step("Chairs", f"{rows} * {cols}", rows * cols)
        d.question = (f"A hall is set up with {rows} rows of chairs and {cols} chairs in each "
                      f"row. How many chairs are there?")
    return d


def elapsed_minutes(rng: random.Random) -> Draft:
    d = Draft(notes="Convert the hours to minutes before adding the parts.")
    (name,) = who(rng)
    films = rng.randint(2, 3)
    lengths = [(rng.randint(1, 2), rng.choice([5, 10, 15, 20, 25, 35, 40, 45, 50]))
               for _ in range(films)]
    brk = rng.choice([10, 15, 20, 30])
    if films == 2:
        mins = [d.step(f"Film {i} in minutes", f"{h} * 60 + {m}", h * 60 + m)
                for i, (h, m) in enumerate(lengths, start=1)]
        total_films = d.step("Films together", " + ".join(num(m) for m in mins), sum(mins))
    else:  # one line for all the films keeps the solution short
        total_films = d.step("Films together in minutes",
                             " + ".join(f"({h} * 60 + {m})" for h, m in lengths),
                             sum(h * 60 + m for h, m in lengths))
    d.step("With the breaks", f"{num(total_films)} + {films - 1} * {brk}",
           total_films + (films - 1) * brk)
    described = ", ".join(f"{h} h {m} min" for h, m in lengths[:-1])
    described += f" and {lengths[-1][0]} h {lengths[-1][1]} min"
    d.question = (f"{name} watches {films} films back to back, lasting {described}, with a "
                  f"{brk}-minute break between one film and the next. How many minutes pass "
                  f"from the start of the first film to the end of the last one?")
    return d


TEMPLATES: list[Callable[[random.Random], Draft]] = [
    shopping_change, unit_price, two_leg_trip, trip_minutes, fence_cost, floor_tiles,
    sharing_remainder, discount, percent_growth, ages_sum, age_difference, ribbon_pieces,
    jug_glasses, practice_hours, score_needed, mean_value, stock_changes, two_pipes, crew_days,
    fraction_of, overtime_pay, saving_weeks, shape_area, tank_litres, ratio_split, tiered_seats,
    split_bill, fuel_cost, working_backwards, bulk_saving, one_step, elapsed_minutes,
]


# ----------------------------------------------------------------------------- checks

_UNIT_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
               "fourteen fifteen sixteen seventeen eighteen nineteen")
_NUMBER_WORDS = {w: i for i, w in enumerate(_UNIT_WORDS.split())} | {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
}


def question_numbers(text: str) -> set[Fraction]:
    """Every value a reader could see in the question: each digit run, decimal, a/b fraction
    and number word. Deliberately generous (a/b counts as a, b and a/b)."""
    values = {Fraction(m) for m in re.findall(r"\d+(?:\.\d+)?", text)}
    values |= {Fraction(int(a), int(b)) for a, b in re.findall(r"(\d+)\s*/\s*(\d+)", text)
               if int(b)}
    values |= {Fraction(_NUMBER_WORDS[w]) for w in re.findall(r"[a-z]+", text.lower())
               if w in _NUMBER_WORDS}
    return values


def draw(template: Callable[[random.Random], Draft], rng: random.Random,
         seen: set[str]) -> Draft:
    """A draft from `template` whose answer is positive, exact and absent from its question."""
    fallback: Draft | None = None
    for _ in range(MAX_DRAWS):
        try:
            d = template(rng)
            if d.answer <= 0:
                raise Retry
            num(d.answer)
            d.solution()
        except Retry:
            continue
        if d.question in seen:
            continue
        if d.answer not in question_numbers(d.question):
            return d
        fallback = fallback or d
    if fallback is None:
        raise RuntimeError(f"{template.__name__}: no usable draw in {MAX_DRAWS} tries")
    return fallback


def generate(seed: int = SEED, per_template: int = PER_TEMPLATE) -> list[dict[str, str]]:
    rng = random.Random(seed)
    drafts: list[Draft] = []
    seen: set[str] = set()
    for template in TEMPLATES:
        for _ in range(per_template):
            d = draw(template, rng, seen)
            seen.add(d.question)
            drafts.append(d)
    rng.shuffle(drafts)  # mixed order, so that `--limit N` samples many templates
    return [
        {
            "id": f"arith-{i:03d}",
            "question": d.question,
            "answer": num(d.answer),
            "solution": d.solution(),
            "verifier": "numeric",
            "notes": d.notes,
        }
        for i, d in enumerate(drafts, start=1)
    ]


def render(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main() -> None:
    rows = generate()
    OUTPUT.write_text(render(rows), encoding="utf-8")
    print(f"wrote {len(rows)} problems to {OUTPUT}")


if __name__ == "__main__":
    main()
