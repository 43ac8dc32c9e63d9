"""Prose for the embedded sample corpus: vocabularies, handwritten sentence pools and document composers.

Why this exists: the demo, the tests and the two demo classifiers need text that reads like real
finance filings, general prose and messy web pages, without copying anyone's corpus. Every sentence
here was written for this project. Templates use two tiny notations, expanded by `Filler`:

* ``[a|b|c]`` picks one alternative (``[very |]`` makes a word optional);
* ``{slot}`` takes a value from `VOCAB` (a list or a function of the rng) or from the fixed values
  a composer passes in (company name, numbers), so one document stays self-consistent.

Every random choice goes through the `random.Random` handed in, so output depends only on the seed.
Composers return ``(text, meta)``; `meta` records what kind of document was made.
"""

from __future__ import annotations

import random
import re
from typing import Callable, Sequence

Composer = Callable[[random.Random, int], "tuple[str, dict]"]

_CHOICE = re.compile(r"\[([^\[\]]*\|[^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")


class Filler:
    """Expands ``[a|b]`` choices and ``{slot}`` values with one rng and a document's fixed values."""

    def __init__(self, rng: random.Random, **fixed: object) -> None:
        self.rng = rng
        self.fixed = fixed
        self.used: set[str] = set()  # templates already used in this document (membership only)

    def __call__(self, template: str) -> str:
        text, n = template, 1
        while n:  # innermost choices first, so alternatives may nest
            text, n = _CHOICE.subn(lambda m: self.rng.choice(m.group(1).split("|")), text)
        text = _SLOT.sub(self._slot, text)
        text = re.sub(r"  +", " ", text)
        return text[:1].upper() + text[1:]

    def _slot(self, m: re.Match) -> str:
        key = m.group(1)
        if key in self.fixed:
            return str(self.fixed[key])
        value = VOCAB[key]
        return value(self.rng) if callable(value) else self.rng.choice(value)

    def sentences(self, pool: Sequence[str], k: int, ordered: bool = False) -> str:
        """Up to k sentences from pool not yet used in this document, filled and joined ("" if none left).

        ordered keeps the pool's order, for pools written as a sequence (steps, a life, a chronology).
        """
        fresh = [t for t in pool if t not in self.used]
        picked = self.rng.sample(fresh, min(k, len(fresh)))
        if ordered:
            picked = [t for t in fresh if t in picked]
        self.used.update(picked)
        return " ".join(self(t) for t in picked)


def words(text: str) -> int:
    return len(text.split())


def fill_to(f: Filler, paragraphs: list[str], pools: Sequence[Sequence[str]], target: int,
            lo: int = 2, hi: int = 5) -> None:
    """Append paragraphs drawn from pools (cycled in random order) until target words are reached."""
    order = list(range(len(pools)))
    while sum(words(p) for p in paragraphs) < target:
        f.rng.shuffle(order)
        added = False
        for i in order:
            para = f.sentences(pools[i], f.rng.randint(lo, hi))
            if para:
                paragraphs.append(para)
                added = True
            if sum(words(p) for p in paragraphs) >= target:
                return
        if not added:  # every pool used up: the document ends shorter than target
            return


def trim_to(paragraphs: list[str], limit: int) -> list[str]:
    """Keep whole paragraphs (at least one) while the total stays within limit words."""
    kept: list[str] = []
    total = 0
    for p in paragraphs:
        if total >= 30 and total + words(p) > limit:  # a title alone is not a document
            break
        kept.append(p)
        total += words(p)
    return kept


def drop_trailing_heading(paragraphs: list[str]) -> list[str]:
    """A section heading (short line without a full stop) must not end a document."""
    while len(paragraphs) > 1 and words(paragraphs[-1]) < 12 and not paragraphs[-1].endswith("."):
        paragraphs = paragraphs[:-1]
    return paragraphs


# --------------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------------

def _num(lo: float, hi: float, nd: int = 1) -> Callable[[random.Random], str]:
    return lambda r: f"{r.uniform(lo, hi):.{nd}f}"


def _int(lo: int, hi: int) -> Callable[[random.Random], str]:
    return lambda r: str(r.randint(lo, hi))


COMPANY_HEADS = [
    "Harrow", "Northgate", "Bellwether", "Calder", "Ardent", "Meridian", "Kestrel", "Alder", "Pinecrest",
    "Halvorsen", "Tidewater", "Corbel", "Larchmont", "Quarry Hill", "Silverbirch", "Oakhaven", "Redfern",
    "Westmarch", "Brightwater", "Ironbridge", "Stonebrook", "Falkner", "Greyhawk", "Marlow", "Ashcombe",
    "Vantor", "Celadon", "Orrin", "Pellham", "Sablewood", "Thornbury", "Wexley", "Lindqvist", "Moravec",
]
COMPANY_TAILS = {
    "Holdings": "diversified industrials", "Industries": "industrials", "Financial": "financial services",
    "Bancorp": "banking", "Logistics": "transportation", "Energy": "energy", "Systems": "software",
    "Therapeutics": "biotechnology", "Foods": "consumer staples", "Materials": "chemicals",
    "Semiconductor": "semiconductors", "Insurance Group": "insurance", "Retail": "retail",
    "Networks": "telecommunications", "Pharmaceuticals": "pharmaceuticals", "Motors": "automotive",
}
FIRST_F = ["Anna", "Priya", "Sofia", "Helen", "Laura", "Ingrid", "Chloe", "Amara", "Elena", "Maya", "Nadia", "Grace",
           "Leah", "Clara", "Rosa", "Yara", "Agnes"]
FIRST_M = ["Marcus", "Daniel", "Tomas", "Kenji", "Samuel", "Rafael", "Oliver", "Jonah", "Victor", "Patrick", "Hugo",
           "Felix", "Arjun", "Mateo", "Edwin", "Simon", "Luca"]
FIRST = FIRST_F + FIRST_M
LAST = [
    "Hartley", "Okafor", "Lindgren", "Moreau", "Castellano", "Whitfield", "Nakamura", "Brennan", "Kowalski",
    "Ashby", "Delgado", "Fenwick", "Haldane", "Iversen", "Jarvis", "Kaur", "Lockwood", "Mbeki", "Novak",
    "Pemberton", "Quinlan", "Rasmussen", "Sorensen", "Thackeray", "Underwood", "Vasquez", "Winslow", "Yilmaz",
]
TOWNS = [
    "Ashworth", "Millbrook", "Kelderwick", "Strandmoor", "Elvington", "Barrowfield", "Cairnholt", "Dunmere",
    "Fernley", "Gallowmere", "Hollinsby", "Kingsmere", "Lowther Bridge", "Marrick", "Northam Cross", "Oxenhope",
    "Pendleford", "Ravensworth", "Saltcote", "Thistleby", "Upper Wenlow", "Wyndham Vale", "Amberley",
    "Corriebrae", "Eastwold",
]
RIVERS = ["Wenn", "Aldric", "Tarrow", "Esk", "Lune", "Morrow", "Calder", "Skell", "Teme", "Brede", "Otterburn", "Holm"]
REGIONS = ["northern uplands", "eastern lowlands", "central vale", "southern hills", "upper valley", "coastal plain"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
CITIES = ["New York", "Chicago", "Boston", "London", "Toronto", "Frankfurt", "Zurich", "Singapore", "Sydney",
          "Denver", "Atlanta", "Dublin", "Amsterdam", "Houston", "Seattle"]

VOCAB: dict[str, object] = {
    "first": FIRST,
    "last": LAST,
    "person": lambda r: f"{r.choice(FIRST)} {r.choice(LAST)}",
    "town": TOWNS,
    "river": RIVERS,
    "region": REGIONS,
    "month": MONTHS,
    "weekday": WEEKDAYS,
    "city": CITIES,
    "year": _int(1995, 2024),
    "day": _int(1, 28),
    "pct": _num(0.5, 12.0),
    "smallpct": _num(0.1, 2.5),
    "bps": lambda r: str(r.choice([5, 10, 15, 20, 25, 30, 40, 50])),
    "yield": _num(2.1, 5.4, 2),
    "spread": _int(90, 260),
    "n2": _int(12, 95),
    "n3": _int(120, 950),
    "mil": lambda r: f"${r.uniform(12, 950):.1f} million",
    "bil": lambda r: f"${r.uniform(1.1, 48):.2f} billion",
    "ticker": lambda r: "".join(r.choice("ABCDEFGHKLMNPRSTVW") for _ in range(r.randint(3, 4))),
    "company": lambda r: f"{r.choice(COMPANY_HEADS)} {r.choice(list(COMPANY_TAILS))}",
    "quarter": ["first", "second", "third", "fourth"],
    "exchange": ["NYSE", "Nasdaq", "LSE", "TSX", "ASX"],
    "index": ["the S&P 500", "the Nasdaq Composite", "the Dow Jones Industrial Average", "the Stoxx 600",
              "the FTSE 100", "the DAX", "the Nikkei 225", "the Russell 2000", "the MSCI World index"],
    "sector": ["technology", "energy", "utilities", "consumer staples", "health care", "financials", "industrials",
               "materials", "real estate", "communication services", "consumer discretionary"],
    "commodity": ["Brent crude", "West Texas Intermediate crude", "gold", "copper", "natural gas", "iron ore",
                  "wheat", "silver"],
    "currency": ["the euro", "the yen", "sterling", "the Swiss franc", "the Australian dollar", "the Canadian dollar"],
    "driver": ["softer inflation data", "stronger-than-expected payrolls", "a jump in bond yields",
               "cautious remarks from central bankers", "upbeat earnings from large banks",
               "weak manufacturing surveys", "falling oil prices", "renewed trade tensions",
               "a rebound in consumer confidence", "disappointing retail sales", "hopes of lower interest rates"],
    "color": ["grey", "amber", "pale", "green", "silver", "blue", "copper-coloured", "white"],
    "bird": ["warbler", "finch", "plover", "wren", "bunting", "kestrel", "heron", "lark", "thrush", "sandpiper"],
    "animal": ["fox", "heron", "deer", "hare", "otter", "badger", "owl", "crow"],
    "weather": ["a thin rain was falling", "the wind had dropped", "fog sat low over the fields",
                "the afternoon was unusually warm", "snow had begun to settle on the roofs",
                "the sky had cleared to a hard, bright blue", "a storm was building over the hills"],
    "object": ["a brass key", "an old photograph", "a folded letter", "a wooden box", "a pocket watch",
               "a notebook with a cracked spine", "a map drawn in pencil", "a small silver ring"],
    "place": ["the station", "the harbour", "the kitchen", "the orchard", "the library", "the bridge",
              "the market square", "the farmhouse", "the lighthouse", "the back garden"],
    "club": lambda r: f"{r.choice(TOWNS)} {r.choice(['Rovers', 'United', 'Athletic', 'Town', 'City', 'Wanderers', 'Albion'])}",
    "minute": _int(3, 89),
    "dish": ["lentil soup", "roast chicken with lemon", "mushroom risotto", "apple crumble", "vegetable curry",
             "bean stew", "flatbreads", "tomato tart", "fish pie", "barley salad", "ginger biscuits", "onion soup"],
    "spice": ["cumin", "paprika", "thyme", "rosemary", "nutmeg", "black pepper", "coriander", "bay leaves", "chilli flakes"],
    "vegetable": ["onions", "carrots", "leeks", "celery", "potatoes", "courgettes", "peppers", "spinach", "mushrooms"],
}


# --------------------------------------------------------------------------------------------------
# Finance: earnings releases
# --------------------------------------------------------------------------------------------------

EARN_HEADLINES = [
    "{co} Reports {Q} Quarter {fy} Results",
    "{co} Announces {Q} Quarter {fy} Financial Results",
    "{co} Posts {dirword} {Q}-Quarter Profit as {reason}",
    "{co} Reports Revenue of {rev} for the {Q} Quarter; {guideword} Full-Year Outlook",
    "{co} {Q} Quarter {fy}: Net Sales {updown} {g}%, Margin {mdir}",
]
EARN_REASONS = ["Demand Holds Up", "Costs Ease", "Pricing Offsets Lower Volumes", "Services Business Grows",
                "Restructuring Weighs", "Higher Input Costs Bite", "Order Backlog Expands"]
EARN_OPEN = [
    "{city}, {month} {day}, {fy} -- {co} ({exch}: {tick}) today reported financial results for the {q} quarter ended {pend}.",
    "{co} ({exch}: {tick}), a [provider|maker|supplier] of {sector} products, [today|on {weekday}] announced results for its {q} fiscal quarter.",
    "{city} -- {co} said on {weekday} that [revenue|net sales] for the {q} quarter [came in at|reached|totalled] {rev}, {updown_s} {g}% from a year earlier.",
]
EARN_RESULTS = [
    "Revenue for the quarter was {rev}, compared with {prev} in the prior-year period, an {incdec} of {g}%.",
    "Net income [was|came to] {ni}, or {eps} per diluted share, versus {ni_prev}, or {eps_prev} per diluted share, a year ago.",
    "Adjusted earnings per share were {adj_eps}, [ahead of|in line with|below] the company's own expectations.",
    "Gross margin [was|stood at] {gm}% of revenue, {gm_move} basis points {gm_dir} than in the same quarter last year.",
    "Operating income [rose|moved] to {oi}, and the operating margin was {om}%.",
    "[Excluding|Leaving aside] currency effects, organic revenue {updown_l} {og}%.",
    "Selling, general and administrative expenses were {sga}, reflecting [higher marketing spending|investment in sales staff|the integration of a recent acquisition|tight cost control].",
    "The effective tax rate for the quarter was {tax}%, compared with {tax2}% a year earlier.",
]
EARN_SEGMENTS = [
    "In the {seg} segment, revenue {updown_l} {sg}% to {segrev}, driven by [higher volumes|price increases|new contracts|a recovery in demand from {sector} customers].",
    "{seg} sales were {segrev}, {updown_s} {sg}% year over year, as [customers delayed orders|shipments normalised|the company exited low-margin contracts|demand in Asia improved].",
    "Segment operating profit in {seg} was {segop}, with a margin of {segm}%.",
    "The {seg} business ended the quarter with a backlog of {backlog}, [up|down] {bg}% from the end of the prior quarter.",
]
EARN_QUOTES = [
    "We delivered a solid quarter in a demanding environment, and our teams kept a close eye on costs",
    "Demand from our core customers remained resilient, and we continued to invest in the products that will drive our next phase of growth",
    "Our results reflect the disciplined execution of our strategy and the benefits of the restructuring we completed last year",
    "The quarter was softer than we had hoped, but the underlying trends in our order book give us confidence",
    "We are pleased with the progress in our services business, which now accounts for a larger share of recurring revenue",
    "Pricing actions and productivity gains more than offset the inflation we saw in materials and freight",
    "We remain focused on generating cash, strengthening the balance sheet and returning capital to shareholders",
    "We took difficult decisions this quarter to simplify the portfolio, and we expect those decisions to improve margins over time",
]
EARN_CASH = [
    "Cash flow from operating activities was {ocf} for the quarter, and free cash flow was {fcf}.",
    "The company ended the quarter with cash and cash equivalents of {cash} and total debt of {debt}.",
    "Capital expenditures were {capex}, mainly for [capacity expansion|new distribution centres|information technology|the modernisation of two plants].",
    "Net leverage[, measured as net debt to adjusted EBITDA,|] [was|improved to|rose to] {lev} times at quarter end.",
    "During the quarter the company repurchased {shares} million shares for {buyback}.",
    "The board declared a quarterly dividend of {div} per share, payable on {month} {day} to shareholders of record.",
]
EARN_OUTLOOK = [
    "For the full fiscal year, the company now expects revenue of between {g_lo} and {g_hi} and adjusted earnings per share of {geps_lo} to {geps_hi}.",
    "Management [raised|reaffirmed|lowered] its full-year guidance, citing [steady order intake|softer demand in Europe|currency headwinds|stronger pricing].",
    "The outlook assumes no significant change in exchange rates and excludes the effect of future acquisitions.",
    "The company expects capital expenditures of roughly {capex_y} for the year and an effective tax rate of {tax}% to {tax2}%.",
]
EARN_CALL = [
    "{co} will host a conference call at {hr}:00 a.m. Eastern time today to discuss the results. A webcast and the accompanying slides will be available on the investor relations section of the company's website.",
    "Management will discuss the quarter on a call with analysts and investors [this morning|later today|on {weekday}]; a replay will be available for thirty days.",
]
EARN_SAFE_HARBOR = [
    "This release contains forward-looking statements, including statements about expected revenue, earnings and cash flow. Such statements are based on current expectations and are subject to risks and uncertainties that could cause actual results to differ materially, including changes in demand, input costs, interest rates and exchange rates. The company undertakes no obligation to update any forward-looking statement.",
    "Certain statements in this announcement are forward-looking and involve risks and uncertainties. Actual results may differ materially from those projected because of, among other things, economic conditions, competition, supply-chain disruptions and regulatory developments. Readers should not place undue reliance on these statements.",
    "Statements in this release that are not historical facts are forward-looking statements. They reflect management's current views and are subject to known and unknown risks, and the company assumes no duty to revise them in light of new information.",
]
SEGMENT_NAMES = ["Industrial Solutions", "Consumer Products", "Services", "Specialty Materials", "Software",
                 "Commercial Banking", "Wealth Management", "Aerospace", "Water Technologies", "Diagnostics",
                 "Retail Banking", "Mobility", "Packaging", "Enterprise Networks"]


def _company(rng: random.Random) -> tuple[str, str, str]:
    head, tail = rng.choice(COMPANY_HEADS), rng.choice(list(COMPANY_TAILS))
    tick = "".join(c for c in (head + tail).upper() if c.isalpha())
    tick = tick[:1] + "".join(rng.sample(tick[1:], 2))
    return f"{head} {tail}", COMPANY_TAILS[tail], tick


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def person_with_pronoun(rng: random.Random) -> tuple[str, str]:
    """A first name and the matching pronoun, so narrative text stays consistent."""
    if rng.random() < 0.5:
        return rng.choice(FIRST_F), "she"
    return rng.choice(FIRST_M), "he"


def _money(rng: random.Random, millions: float) -> str:
    if millions >= 1000:
        return f"${millions / 1000:.2f} billion"
    return f"${millions:,.1f} million"


def earnings_release(rng: random.Random, target: int) -> tuple[str, dict]:
    co, sector, tick = _company(rng)
    rev_prev = rng.uniform(80, 9000)
    g = rng.uniform(-9, 18)
    rev = rev_prev * (1 + g / 100)
    margin = rng.uniform(0.03, 0.22)
    ni, ni_prev = rev * margin, rev_prev * margin * rng.uniform(0.7, 1.2)
    shares = rng.uniform(40, 900)
    q = rng.choice(VOCAB["quarter"])
    fy = rng.randint(2014, 2024)
    f = Filler(
        rng, co=co, tick=tick, sector=sector, q=q, Q=q.capitalize(), fy=fy,
        exch=rng.choice(VOCAB["exchange"]), pend=f"{rng.choice(MONTHS)} {rng.randint(28, 30)}, {fy}",
        rev=_money(rng, rev), prev=_money(rng, rev_prev), g=f"{abs(g):.1f}",
        updown="Up" if g >= 0 else "Down", updown_l="rose" if g >= 0 else "fell", updown_s="up" if g >= 0 else "down",
        bg=f"{rng.uniform(1, 9):.1f}",
        incdec="increase" if g >= 0 else "decrease",
        dirword="Higher" if ni > ni_prev else "Lower", reason=rng.choice(EARN_REASONS),
        guideword=rng.choice(["Raises", "Reaffirms", "Trims"]), mdir=rng.choice(["Expands", "Narrows", "Steady"]),
        ni=_money(rng, ni), ni_prev=_money(rng, ni_prev), eps=f"${ni / shares:.2f}", eps_prev=f"${ni_prev / shares:.2f}",
        adj_eps=f"${ni / shares * rng.uniform(1.02, 1.25):.2f}", gm=f"{rng.uniform(18, 62):.1f}",
        gm_move=rng.choice([20, 40, 60, 90, 110, 150]), gm_dir=rng.choice(["higher", "lower"]),
        oi=_money(rng, rev * margin * 1.4), om=f"{margin * 140:.1f}", og=f"{abs(g) * rng.uniform(0.6, 1.1):.1f}",
        sga=_money(rng, rev * rng.uniform(0.08, 0.2)), tax=rng.randint(18, 24), tax2=rng.randint(21, 27),
        seg=rng.choice(SEGMENT_NAMES), sg=f"{rng.uniform(1, 15):.1f}", segrev=_money(rng, rev * rng.uniform(0.2, 0.6)),
        segop=_money(rng, rev * rng.uniform(0.03, 0.1)), segm=f"{rng.uniform(6, 24):.1f}",
        backlog=_money(rng, rev * rng.uniform(0.8, 2.5)), ocf=_money(rng, rev * rng.uniform(0.08, 0.2)),
        fcf=_money(rng, rev * rng.uniform(0.03, 0.12)), cash=_money(rng, rev * rng.uniform(0.2, 0.9)),
        debt=_money(rng, rev * rng.uniform(0.5, 2.0)), capex=_money(rng, rev * rng.uniform(0.02, 0.07)),
        lev=f"{rng.uniform(0.4, 3.6):.1f}", shares=f"{rng.uniform(0.5, 12):.1f}",
        buyback=_money(rng, rev * rng.uniform(0.01, 0.05)), div=f"${rng.uniform(0.05, 1.2):.2f}",
        g_lo=_money(rng, rev * 3.8), g_hi=_money(rng, rev * 4.1), geps_lo=f"${ni / shares * 3.7:.2f}",
        geps_hi=f"${ni / shares * 4.1:.2f}", capex_y=_money(rng, rev * 0.2), hr=rng.choice([8, 9, 10, 11]),
    )
    head = f(rng.choice(EARN_HEADLINES))
    paras = [f(rng.choice(EARN_OPEN)), f.sentences(EARN_RESULTS, rng.randint(2, 4))]
    quote = f"\u201c{rng.choice(EARN_QUOTES)},\u201d said {f('{person}')}, [chief executive officer|president and chief executive|chief financial officer]."
    paras.append(f(quote))
    body_pools = [EARN_SEGMENTS, EARN_CASH, EARN_RESULTS, EARN_OUTLOOK]
    fill_to(f, paras, body_pools, int(target * 0.8), 1, 3)
    if rng.random() < 0.5:
        paras.append(f(rng.choice(EARN_CALL)))
    if rng.random() < 0.55:
        paras.append(rng.choice(EARN_SAFE_HARBOR))
    paras = trim_to([head] + paras, target + 40)
    return "\n\n".join(paras), {"style": "earnings_release", "company": co, "fiscal_year": fy}


# --------------------------------------------------------------------------------------------------
# Finance: annual-report risk factors
# --------------------------------------------------------------------------------------------------

RISKS: list[tuple[str, list[str]]] = [
    ("Our business is exposed to changes in interest rates.", [
        "A significant portion of our borrowings bears interest at floating rates, so an increase in benchmark rates would raise our interest expense and reduce cash available for investment.",
        "Higher rates may also reduce demand from customers who finance their purchases with credit.",
        "Although we use interest rate swaps to hedge part of this exposure, our hedging arrangements may not be effective, and counterparties may fail to perform.",
        "A decline in rates could compress the net interest margin we earn on customer deposits.",
    ]),
    ("We may not be able to refinance our indebtedness on acceptable terms.", [
        "As of the end of the fiscal year we had {bil} of outstanding indebtedness, of which {mil} matures within the next two years.",
        "Our ability to refinance depends on conditions in the credit markets and on our financial performance, and we cannot assure investors that financing will be available.",
        "Our credit agreements contain covenants that limit our ability to pay dividends, incur additional debt or sell assets, and a breach of those covenants could result in an event of default.",
        "A downgrade of our credit ratings would increase our cost of borrowing and could restrict our access to the commercial paper market.",
    ]),
    ("Fluctuations in foreign currency exchange rates could adversely affect our results.", [
        "We generate approximately {n2}% of our revenue outside the United States, and our reported results are affected by the translation of foreign currencies into U.S. dollars.",
        "A stronger dollar reduces the value of revenue earned in other currencies and may make our products less competitive abroad.",
        "We enter into forward contracts to hedge certain transactional exposures, but we do not hedge translation risk.",
    ]),
    ("We depend on a limited number of suppliers for certain key components.", [
        "Some components are available from only one or two qualified sources, and a disruption at any of those suppliers could delay shipments to our customers.",
        "Supply constraints in recent periods caused us to pay higher prices and to hold larger inventories, which tied up working capital.",
        "Qualifying a new supplier can take many months and may require approval from our customers or regulators.",
    ]),
    ("Cybersecurity incidents could disrupt our operations and expose us to liability.", [
        "We rely on information technology systems to process transactions, manage inventory and store confidential customer data.",
        "Attackers have targeted companies in our industry with ransomware and phishing campaigns, and the techniques they use change frequently.",
        "A material breach could result in regulatory fines, litigation, remediation costs and damage to our reputation.",
        "Our insurance may not cover all losses arising from such an incident.",
    ]),
    ("Changes in tax laws could increase our effective tax rate.", [
        "We are subject to income taxes in many jurisdictions, and tax authorities may challenge the positions we have taken on transfer pricing.",
        "Proposals to introduce a global minimum tax could increase the taxes we pay on earnings in low-tax jurisdictions.",
        "Significant judgment is required in determining our provision for income taxes and the recoverability of deferred tax assets.",
    ]),
    ("Our goodwill and intangible assets may become impaired.", [
        "At year end, goodwill and other intangible assets represented {n2}% of total assets, largely as a result of past acquisitions.",
        "If the fair value of a reporting unit falls below its carrying amount, we would be required to record a non-cash impairment charge that could be material to our earnings.",
        "Declines in our share price or in the forecast cash flows of acquired businesses are indicators that an impairment test may be required.",
    ]),
    ("We face intense competition.", [
        "Our competitors include large multinational companies with greater financial resources as well as smaller firms that compete aggressively on price.",
        "If we fail to introduce new products on time, or if customers prefer alternative technologies, our market share and margins could decline.",
        "Consolidation among our customers increases their bargaining power and may put pressure on our pricing.",
    ]),
    ("Regulatory capital and liquidity requirements may limit our ability to return capital.", [
        "As a bank holding company we are required to maintain minimum ratios of common equity tier 1 capital to risk-weighted assets.",
        "Regulators may raise these requirements or change the way risk-weighted assets are calculated, which could require us to hold more capital than we currently plan.",
        "Any shortfall could restrict our ability to pay dividends or repurchase shares.",
        "Our liquidity coverage ratio depends on the stability of customer deposits, which can leave quickly in periods of stress.",
    ]),
    ("Credit losses on our loan portfolio could exceed our allowance.", [
        "Our allowance for credit losses reflects management's estimate of expected losses over the life of the loans, based on economic forecasts that may prove wrong.",
        "A recession, rising unemployment or falling property values would increase delinquencies and charge-offs, particularly in our commercial real estate portfolio.",
        "Concentrations of lending to particular industries or regions increase the risk that a local downturn affects us disproportionately.",
    ]),
    ("Our pension obligations could require significant cash contributions.", [
        "We sponsor defined benefit pension plans that were underfunded by {mil} at the end of the year.",
        "Lower discount rates or poor returns on plan assets would increase the funding shortfall and the contributions we are required to make.",
    ]),
    ("Inflation in labour, energy and raw material costs may reduce our margins.", [
        "We have historically been able to pass on part of our cost increases through higher prices, but we may not be able to do so in the future without losing volume.",
        "Energy prices are volatile and our manufacturing operations consume significant amounts of electricity and natural gas.",
        "Wage inflation and shortages of skilled workers have increased our operating costs.",
    ]),
    ("Litigation and regulatory investigations could result in significant costs.", [
        "From time to time we are party to lawsuits involving product liability, intellectual property, employment and contract matters.",
        "The outcome of litigation is inherently uncertain, and an adverse judgment or settlement could have a material effect on our financial condition in the period in which it is recorded.",
    ]),
    ("The market price of our common stock may be volatile.", [
        "Our share price may fluctuate significantly in response to quarterly variations in operating results, changes in analysts' estimates and general market conditions.",
        "Future sales of shares by our principal shareholders, or the perception that such sales may occur, could depress the market price.",
    ]),
]
RISK_INTROS = [
    "Item 1A. Risk Factors",
    "RISK FACTORS",
    "Principal Risks and Uncertainties",
]
RISK_PREFACE = [
    "An investment in our securities involves a high degree of risk. You should carefully consider the risks described below, together with the other information in this annual report, before making an investment decision.",
    "The following risks could materially and adversely affect our business, financial condition, results of operations and cash flows. The risks described below are not the only risks we face.",
    "Our operations and financial results are subject to various risks and uncertainties, including those described below, which could adversely affect our business and the trading price of our common stock.",
]


def risk_factors(rng: random.Random, target: int) -> tuple[str, dict]:
    co, sector, _ = _company(rng)
    f = Filler(rng, co=co)
    paras = [rng.choice(RISK_INTROS), f(rng.choice(RISK_PREFACE))]
    order = rng.sample(range(len(RISKS)), len(RISKS))
    for i in order:
        heading, body = RISKS[i]
        paras.append(heading)
        paras.append(f.sentences(body, rng.randint(2, len(body))))
        if sum(words(p) for p in paras) >= target:
            break
    paras = drop_trailing_heading(trim_to(paras, target + 30))
    return "\n\n".join(paras), {"style": "risk_factors", "company": co, "sector": sector}


# --------------------------------------------------------------------------------------------------
# Finance: central-bank minutes
# --------------------------------------------------------------------------------------------------

MIN_BODIES = ["Monetary Policy Committee", "Governing Board", "Policy Board", "Federal Open Market Committee",
              "Monetary Policy Council"]
MIN_MARKETS = [
    "The manager of the open market desk reported that financial conditions had [tightened|eased] over the intermeeting period.",
    "Longer-term government bond yields [rose|fell] by about {bps} basis points, with the ten-year yield ending the period near {yield}%.",
    "Market-based measures of inflation compensation were little changed, while survey measures of longer-run expectations remained [well anchored|stable].",
    "Equity prices [increased|declined] modestly, and corporate credit spreads [narrowed|widened] slightly.",
    "Money market rates traded close to the middle of the target range, and use of the overnight reverse repurchase facility [continued to decline|was stable].",
    "The foreign exchange value of the currency [appreciated|depreciated] against most major currencies, reflecting shifts in expected policy paths abroad.",
    "Bank lending to businesses grew [slowly|at a moderate pace], and senior loan officers reported [tighter|broadly unchanged] credit standards.",
]
MIN_ECONOMY = [
    "The staff review indicated that real gross domestic product had expanded at an annual rate of about {smallpct}% in the most recent quarter.",
    "Consumer spending [remained solid|slowed] as households [drew down savings|faced higher borrowing costs], while business investment in equipment was [subdued|firm].",
    "The unemployment rate [edged up|was unchanged|edged down] to {unemp}%, and payroll growth [moderated|remained robust].",
    "Headline consumer price inflation was {infl}% over the twelve months to {month}, and core inflation, which excludes food and energy, was {core}%.",
    "Wage growth had slowed from its peak but remained above the rate consistent with the inflation target over time.",
    "Housing activity [stayed weak|showed signs of stabilising] as mortgage rates remained near their highest level in several years.",
    "Net exports made a [small positive|small negative] contribution to growth, reflecting [softer demand from trading partners|lower import volumes].",
]
MIN_VIEWS = [
    "Participants agreed that inflation remained above the Committee's {target}% objective and that further progress would likely require a period of below-trend growth.",
    "Several participants noted that the full effects of past policy tightening had yet to be felt in the economy.",
    "Some members judged that risks to the inflation outlook had become more balanced, while others saw upside risks from services prices.",
    "A few participants pointed to signs of strain among lower-income households and in parts of the commercial property market.",
    "Members emphasised that future decisions would depend on incoming data and on the evolving balance of risks.",
    "Many participants observed that labour demand and supply were coming into better balance.",
    "Several members remarked that the appropriate stance would need to remain restrictive for some time.",
    "Participants discussed the pace of balance sheet reduction and agreed to continue it as previously announced.",
]
MIN_ACTION = [
    "In light of these considerations, the Committee decided to [maintain|raise|lower] the policy rate [at|to] {rate}%.",
    "Members voted {for_} to {against} in favour of the decision; the dissenting member{s} preferred a [larger|smaller|different] adjustment.",
    "The Committee reiterated that it was prepared to adjust the stance of policy as appropriate if risks emerged that could impede the attainment of its goals.",
    "It was agreed that the next meeting would be held on {month} {day}.",
]


def central_bank_minutes(rng: random.Random, target: int) -> tuple[str, dict]:
    body = rng.choice(MIN_BODIES)
    year = rng.randint(2008, 2024)
    month = rng.choice(MONTHS)
    d = rng.randint(1, 26)
    nvote = rng.randint(7, 12)
    against = rng.choice([0, 1, 1, 2])
    f = Filler(rng, body=body, unemp=f"{rng.uniform(3.4, 7.9):.1f}", infl=f"{rng.uniform(1.5, 8.5):.1f}",
               core=f"{rng.uniform(1.8, 6.4):.1f}", target=rng.choice([2, 2, 2, 3]),
               rate=f"{rng.choice([0.25, 0.5, 1.0, 1.75, 2.5, 3.25, 4.0, 4.5, 5.25])}",
               nvote=nvote, for_=nvote - against, against=against, s="" if against == 1 else "s")
    title = f"Minutes of the {body} Meeting, {month} {d}\u2013{d + 1}, {year}"
    att = f("The meeting was attended by [all|{nvote} of the] voting members[, together with staff advisers|]. "
            "The [Governor|Chair] presided.")
    paras = [title, att]
    sections = [("Developments in Financial Markets", MIN_MARKETS), ("Staff Review of the Economic Situation", MIN_ECONOMY),
                ("Participants' Views on Current Conditions and the Outlook", MIN_VIEWS)]
    use_heads = rng.random() < 0.6
    for i, (head, pool) in enumerate(sections, 1):
        if sum(words(p) for p in paras) >= target * 0.8:
            break
        if use_heads:
            paras.append(head)
        paras.append(f.sentences(pool, rng.randint(2, 5)))
        if sum(words(p) for p in paras) < target * 0.8 * i / len(sections):  # a long document: more per section
            paras.append(f.sentences(pool, rng.randint(2, 4)))
    paras = [p for p in paras if p]
    action = [f(MIN_ACTION[0])]
    action.append(f(MIN_ACTION[1]) if against else "The decision was unanimous.")
    action += [f(t) for t in MIN_ACTION[2:]]
    closing = " ".join(action)
    paras = drop_trailing_heading(trim_to(paras, max(60, target - words(closing)))) + [closing]
    return "\n\n".join(paras), {"style": "central_bank_minutes", "body": body, "year": year}


# --------------------------------------------------------------------------------------------------
# Finance: market commentary
# --------------------------------------------------------------------------------------------------

MKT_OPEN = [
    "Stocks [rose|fell|were mixed] on {weekday} as investors weighed {driver} against {driver2}.",
    "[Global equities|Shares] [edged higher|slipped|rallied|retreated] in {mood} trading on {weekday}, with {index} [closing|ending the session] {chg}% [higher|lower].",
    "Markets [opened the week|ended the week|spent {weekday}] [on the back foot|on a firmer footing|in a cautious mood] after {driver}.",
    "It was a [quiet|volatile|choppy|busy] session for risk assets, with {driver} setting the tone from the opening bell.",
]
MKT_EQUITY = [
    "{index} [gained|lost] {chg}%, while {index2} [added|shed] {chg2}%.",
    "Shares of {company} [jumped {pct}% after the company raised its full-year forecast|slumped {pct}% after the company cut its full-year forecast|climbed {smallpct}% after a broker upgraded the stock|dropped {pct}% after quarterly sales missed estimates].",
    "{sector_c} stocks led the [advance|decline], and {sector} shares [lagged|outperformed] as investors rotated [into|out of] defensive names.",
    "Trading volumes were [light|heavy|below the monthly average], with roughly {vol} billion shares changing hands.",
    "Small-cap stocks [underperformed|outperformed] the broader market, a sign of [caution about the economic outlook|improving risk appetite].",
    "Bank shares were [under pressure|firmer] as the yield curve [flattened|steepened] and investors reassessed the outlook for net interest income.",
    "Analysts said the rally looked [stretched|fragile|broad-based], noting that valuations were already above their long-run average.",
]
MKT_RATES = [
    "In the bond market, the yield on the ten-year Treasury note [rose|fell] {bps} basis points to {yield}%.",
    "Two-year yields, which are more sensitive to expectations for policy rates, [climbed|slipped] to {yield2}%.",
    "Futures markets priced in [roughly|about|close to] {n2}% odds of a rate [cut|increase] at the next central bank meeting.",
    "Investment-grade credit spreads were [little changed|slightly wider|slightly tighter], and new issuance [was heavy|slowed] ahead of the holiday.",
    "German Bund yields tracked Treasuries [higher|lower], and Italian spreads over Bunds [narrowed|widened] to {spread} basis points.",
]
MKT_FX = [
    "The dollar [strengthened against {currency}, rising|weakened against {currency}, falling] {smallpct}%, after comments from a senior policymaker.",
    "{currency_c} [slipped|firmed] as traders [trimmed|added to] bets on further tightening.",
    "Emerging-market currencies were [mostly weaker|broadly firmer], with the [Brazilian real|South African rand|Mexican peso|Korean won] [leading losses|leading gains].",
]
MKT_COMMOD = [
    "{commodity_c} [rose|fell] {smallpct}% as traders assessed [supply cuts|inventory data|the demand outlook in China|weather forecasts].",
    "Gold [climbed|eased] to ${gold} an ounce, [supported by|pressured by] [a softer dollar|lower real yields|a firmer dollar|higher real yields].",
    "Oil prices [extended|reversed] [gains|losses] after a government report showed an unexpected [draw|build] in crude inventories.",
]
MKT_AHEAD = [
    "Investors will look to {weekday}'s [inflation report|jobs data|retail sales figures|purchasing managers' surveys] for clues on the path of interest rates.",
    "Earnings season [continues|gets under way] next week, with several large banks and technology companies due to report.",
    "Strategists at {company} said they expected volatility to remain elevated until the central bank clarified its plans.",
    "\u201cThe market is still trying to work out how long rates will stay this high,\u201d said {person}, a portfolio manager at {company}.",
    "\u201cEarnings have held up better than feared, but guidance is where the real test comes,\u201d said {person}, chief investment strategist at {company}.",
]


def market_commentary(rng: random.Random, target: int) -> tuple[str, dict]:
    idx = rng.sample(VOCAB["index"], 2)
    f = Filler(rng, index=idx[0], index2=idx[1], chg=f"{rng.uniform(0.1, 2.4):.1f}", chg2=f"{rng.uniform(0.1, 1.9):.1f}",
               mood=rng.choice(["thin", "nervous", "upbeat", "holiday-shortened", "heavy"]),
               driver2=rng.choice(VOCAB["driver"]), vol=f"{rng.uniform(7, 16):.1f}",
               sector_c=rng.choice(VOCAB["sector"]).capitalize(), currency_c=rng.choice(VOCAB["currency"]).capitalize(),
               commodity_c=rng.choice(VOCAB["commodity"]).capitalize(), gold=f"{rng.randint(1200, 2600):,}",
               yield2=f"{rng.uniform(1.5, 5.2):.2f}")
    paras = [f(rng.choice(MKT_OPEN))]
    if rng.random() < 0.4:
        paras.insert(0, f("[Markets wrap|Stocks|Market close|Morning briefing]: [{index} [climbs|slides|ends flat] as "
                          "investors digest {driver}|Yields [jump|ease] after {driver}|Investors turn cautious ahead "
                          "of {weekday} data]"))
    fill_to(f, paras, [MKT_EQUITY, MKT_RATES, MKT_FX, MKT_COMMOD], int(target * 0.85), 1, 3)
    paras.append(f.sentences(MKT_AHEAD, rng.randint(1, 2)))
    paras = trim_to(paras, target + 30)
    return "\n\n".join(paras), {"style": "market_commentary"}


# --------------------------------------------------------------------------------------------------
# General: encyclopedic entries
# --------------------------------------------------------------------------------------------------

ENC_TOWN = {
    "lead": [
        "{name} is a market town in the {region} of the county, on the [north|south|east|west] bank of the River {river}.",
        "{name} is a [small|former mill|cathedral|coastal] town and civil parish about {n2} kilometres from the county town.",
    ],
    "body": [
        "At the census of {cyear} it had a population of {pop}, a [slight rise|small fall] since the previous count.",
        "The name is thought to derive from an Old English word for a [ford|clearing|hill spur|marsh], referring to the crossing of the river.",
        "A settlement is recorded here in the eleventh century, when it was held by a minor landowner and supported a mill and a church.",
        "The town grew during the eighteenth century as a centre of [wool|leather|pottery|rope] production, and several warehouses from this period survive.",
        "The arrival of the railway in the {decade}s connected the town to the coast and encouraged the growth of a weekly cattle market.",
        "The parish church of Saint [Mary|Michael|Andrew|Oswald] has a [twelfth-century|fourteenth-century] tower and a restored timber roof.",
        "Today the main employers are the local hospital, a food-processing plant and a number of small engineering firms.",
        "The town hosts an annual [agricultural show|music festival|horse fair|walking festival] each [spring|summer|autumn], which attracts several thousand visitors.",
        "The old stone bridge over the {river} was widened in the nineteenth century and is now a listed structure.",
        "Schools in the town include two primary schools and a secondary school with a sixth form.",
        "The town is served by a bus route to the neighbouring villages, although the railway station closed in the {decade2}s.",
        "A local museum, housed in the former corn exchange, displays tools, photographs and records of the town's trades.",
        "During the Civil War the town changed hands twice, and a skirmish was fought in the meadows south of the bridge.",
        "Much of the centre was rebuilt in brick after a fire in the {decade}s destroyed the timber-framed houses around the market place.",
        "The surrounding countryside is mainly mixed farmland, with sheep on the higher ground and cereals in the valley.",
        "A grammar school was founded in the sixteenth century by a wealthy wool merchant, and its original schoolroom still stands beside the church.",
        "The town's football club plays in a regional league, and its cricket ground beside the river is often flooded in winter.",
        "A bypass opened in the 1990s removed most through traffic from the high street, which has since been partly pedestrianised.",
        "The town is twinned with a small wine-growing town in France, and exchange visits have taken place since the 1970s.",
    ],
}
ENC_BIRD = {
    "lead": [
        "The {color} {bird} is a small bird found in open woodland, hedgerows and the edges of farmland.",
        "The {color} {bird} is a species of [songbird|wading bird|bird of prey] that breeds across much of the temperate zone.",
    ],
    "body": [
        "Adults measure about {n2} centimetres in length and have a wingspan roughly twice that figure.",
        "The male has a [streaked brown back|bright chestnut breast|pale grey crown] and a short, pointed bill, while the female is duller.",
        "Its song is a rapid series of clear notes, usually delivered from a high perch early in the morning.",
        "It feeds mainly on insects and spiders in summer, switching to seeds and berries during the colder months.",
        "The nest is a neat cup of grass and moss, built low in a dense shrub, and the female lays four to six eggs.",
        "Both parents feed the chicks, which leave the nest after about two weeks.",
        "Northern populations migrate south in autumn, travelling at night and resting in coastal scrub.",
        "The species has declined in parts of its range because of the loss of hedgerows and changes in farming practice.",
        "It is currently assessed as [least concern|near threatened], although local numbers are monitored by volunteer surveys.",
        "In folklore the bird was associated with the return of fine weather, and its arrival was noted in parish records.",
        "Young birds can be distinguished by their spotted breasts and paler legs until their first moult in late summer.",
        "Outside the breeding season it often joins mixed flocks with finches and tits, moving along hedgerows in search of food.",
        "Pairs are usually monogamous within a season, although males sometimes hold two territories in good years.",
        "Ringing studies have shown that individuals can live for more than eight years, though most survive only two or three.",
        "Predators include sparrowhawks, cats and, at the nest, magpies and squirrels.",
        "Several subspecies have been described, differing mainly in the colour of the upperparts and the length of the wing.",
    ],
}
ENC_PERSON = {
    "lead": [
        "{name} ({born}\u2013{died}) was [a painter|a composer|an engineer|a botanist|an architect|a novelist] known for [careful observation|bold experiments|a long career in public service].",
        "{name} was a [nineteenth-century|twentieth-century] [cartographer|chemist|sculptor|poet|civil engineer] whose work influenced a generation of students.",
    ],
    "body": [
        "Born in {town}, the [eldest|youngest] of {n1} children, {first} was educated at the local grammar school.",
        "After a brief apprenticeship, {first} moved to the capital, where [a chance meeting with a publisher|a scholarship to the academy|work in a drawing office] changed the course of {pos} career.",
        "{Pos} early work attracted little attention, but an exhibition in {year1} brought wider recognition.",
        "Critics praised the clarity and restraint of the mature works, although some found them cold.",
        "In later life {first} taught at a technical college and wrote a textbook that remained in print for decades.",
        "{first} married in {year1} and had two children; the family lived for many years in a house overlooking the river.",
        "A collection of letters and notebooks is held by the county archive and has been used by several biographers.",
        "{first} died in {town} and was buried in the churchyard there; a memorial plaque was unveiled on the centenary of {pos} birth.",
        "During the war {first} served as a draughtsman with the army engineers, an experience that shaped much of the later work.",
        "A long friendship with a fellow student, conducted mostly by letter, is one of the best sources for the middle years.",
        "{first} travelled widely in southern Europe in the 1890s, filling sketchbooks with studies of harbours and hill towns.",
        "The major works of this period were poorly paid, and {first} supplemented a modest income by teaching evening classes.",
        "Several of the most important pieces were lost in a warehouse fire and are known today only from photographs.",
        "Interest in the work revived after a retrospective exhibition was held at the county gallery in the 1970s.",
    ],
}


def encyclopedic(rng: random.Random, target: int) -> tuple[str, dict]:
    kind = rng.choice(["town", "bird", "person"])
    pools = {"town": ENC_TOWN, "bird": ENC_BIRD, "person": ENC_PERSON}[kind]
    first, she = person_with_pronoun(rng)
    last = rng.choice(LAST)
    born = rng.randint(1780, 1920)
    name = {"town": rng.choice(TOWNS), "bird": "", "person": f"{first} {last}"}[kind]
    pos = "her" if she == "she" else "his"
    f = Filler(rng, name=name, first=first, pos=pos, Pos=pos.capitalize(), born=born,
               died=born + rng.randint(45, 90), year1=born + rng.randint(22, 40),
               cyear=rng.choice([2001, 2011, 2021]), pop=f"{rng.randint(2500, 48000):,}", n1=rng.randint(2, 8),
               decade=rng.choice([1840, 1850, 1860, 1870]), decade2=rng.choice([1950, 1960]),
               color=rng.choice(VOCAB["color"]), bird=rng.choice(VOCAB["bird"]), river=rng.choice(RIVERS))
    paras = [f(rng.choice(pools["lead"]))]
    body = pools["body"]
    while sum(words(p) for p in paras) < target:
        para = f.sentences(body, rng.randint(2, 4), ordered=True)
        if not para:
            break
        paras.append(para)
    title = name if kind != "bird" else f"{f.fixed['color'].capitalize()} {f.fixed['bird']}"
    return "\n\n".join(trim_to([title] + paras, target + 30)), {"genre": "encyclopedic", "topic": kind}


# --------------------------------------------------------------------------------------------------
# General: narrative fiction
# --------------------------------------------------------------------------------------------------

FIC_SCENE = [
    "By the time {a} reached {place}, {weather}.",
    "{a} had not been back to {town} in eleven years, and the streets seemed narrower than {she} remembered.",
    "The house was quiet except for the clock in the hall, which had been running slow since the winter.",
    "Somewhere beyond the hedge a {animal} was moving through the long grass.",
    "The lamps along the quay came on one by one, and the water turned from grey to black.",
    "{a} stood in the doorway for a long moment, holding {object} as if it might explain itself.",
    "It was the kind of evening when sounds carried a long way: a dog, a gate, someone laughing in a kitchen down the lane.",
    "The train was late, as it always was on Sundays, and the waiting room smelled of damp coats.",
]
FIC_ACTION = [
    "{a} set {object} on the table and pushed it towards {b}.",
    "{b} did not answer at once; {bshe} was watching the window, where the light was going.",
    "They walked without speaking as far as the bridge, where {b} stopped to look at the river.",
    "{a} counted the coins twice, but there was still not enough to pay the rent that was due on Friday.",
    "When the letter finally came, {a} read it standing up, then sat down and read it again.",
    "{b} laughed, though there was nothing unkind in it, and reached for the kettle.",
    "Halfway up the hill {a} realised that {she} had left the gate open, and turned back.",
    "The shop owner wrapped the parcel in brown paper and tied it with string, taking far longer than necessary.",
    "{a} borrowed forty pounds from {b} and promised to repay it by the end of the month, knowing {she} probably could not.",
    "For a while neither of them moved, and the rain filled the silence for them.",
]
FIC_DIALOGUE = [
    "\u201cYou kept it,\u201d {b} said. \u201cAll this time, you kept it.\u201d",
    "\u201cI don't know what you expected me to do,\u201d said {a}.",
    "\u201cIt's only a few miles,\u201d {b} said. \u201cWe could walk it before dark if we leave now.\u201d",
    "\u201cDid anyone else see you?\u201d \u201cNo. At least, I don't think so.\u201d",
    "\u201cYour father would have known what to say,\u201d {b} said quietly.",
    "\u201cTell me the truth this time,\u201d said {a}. \u201cNot the version you told the others.\u201d",
    "\u201cThe bank won't wait another month,\u201d {b} said. \u201cWe'll have to sell the boat.\u201d",
    "\u201cLeave the dishes,\u201d said {a}. \u201cSit down for once.\u201d",
]
FIC_THOUGHT = [
    "{a} thought of the summer they had spent at the coast, and of how certain everything had seemed then.",
    "It occurred to {a} that {she} had been waiting for this conversation for years without admitting it.",
    "There would be time later to decide what it meant; for now it was enough to be warm and dry.",
    "{a} wondered whether {b} had always known, and had simply been kind enough to say nothing.",
    "Memory, {a} decided, was a poor witness: it remembered the weather and forgot the words.",
]


def fiction(rng: random.Random, target: int) -> tuple[str, dict]:
    a, she = person_with_pronoun(rng)
    b, bshe = person_with_pronoun(rng)
    while b == a:
        b, bshe = person_with_pronoun(rng)
    f = Filler(rng, a=a, b=b, she=she, bshe=bshe)
    paras = [f.sentences(FIC_SCENE, rng.randint(2, 3))]
    pools = [FIC_ACTION, FIC_DIALOGUE, FIC_THOUGHT, FIC_SCENE]
    while sum(words(p) for p in paras) < target:
        pool = rng.choice(pools)
        if pool is FIC_DIALOGUE:  # dialogue lines stand as their own paragraphs
            lines = [f.sentences(FIC_DIALOGUE, 1) for _ in range(rng.randint(1, 3))]
            paras.extend(x for x in lines if x)
        else:
            paras.append(f.sentences(pool, rng.randint(2, 4)))
        if all(t in f.used for t in FIC_ACTION + FIC_DIALOGUE + FIC_THOUGHT + FIC_SCENE):
            break
    paras = [p for p in paras if p]
    return "\n\n".join(trim_to(paras, target + 30)), {"genre": "fiction"}


# --------------------------------------------------------------------------------------------------
# General: travel
# --------------------------------------------------------------------------------------------------

TRAVEL = [
    [
        "{town} rewards travellers who slow down: the best of it is found on foot, in the lanes behind the harbour and the squares that open unexpectedly off the main street.",
        "Few visitors stay more than a night in {town}, which is a pity, because the place reveals itself slowly.",
        "Arriving in {town} by the evening train, you first notice the smell of the sea and the sound of gulls on the station roof.",
    ],
    [
        "The old quarter is compact enough to cross in twenty minutes, but it is easy to lose an afternoon among its bookshops and bakeries.",
        "Climb the steps to the ruined castle early in the morning, before the tour buses arrive, and you will have the view over the bay to yourself.",
        "The covered market is open every day except Monday; go hungry and try the smoked fish, the sheep's cheese and the honey cakes.",
        "A coastal path runs {n2} kilometres to the next village, passing coves where seals haul out on the rocks.",
        "The small museum in the customs house tells the story of the town's fishing fleet through photographs and models.",
        "On summer evenings the whole town seems to gather on the promenade, and the cafes stay open until well after midnight.",
        "The botanical garden behind the cathedral is free to enter and makes a shady refuge in the middle of the day.",
        "A short bus ride inland takes you to a valley of orchards and stone villages, where the pace of life slows further.",
        "The fish restaurant at the end of the harbour wall has no menu; you eat whatever the boats brought in that morning.",
        "Sunset is best watched from the lighthouse headland, a gentle half-hour walk from the centre.",
    ],
    [
        "Rooms in the guesthouses near the harbour cost around {price} a night in high season, less in spring and autumn.",
        "A three-day rail pass costs about {price2} and covers the branch line along the coast.",
        "Most restaurants offer a set lunch for roughly {price3}, which is usually better value than the evening menu.",
        "Bring cash for the market stalls and the ferry, as card machines are unreliable outside the town centre.",
    ],
    [
        "The best time to visit is late spring, when the hills are green and the crowds have not yet arrived.",
        "If you have an extra day, take the ferry to the island, where there are no cars and the only hotel has six rooms.",
        "Wear sturdy shoes: the cobbles are uneven and the steps down to the beach are steep.",
        "Buses to the airport leave from the square outside the town hall every two hours.",
        "Locals are friendly but reserved; a few words of the language are appreciated.",
        "Tourist information is in the old customs house by the pier, where the staff are generous with maps and advice.",
        "Mobile signal is patchy in the hills, so download a map before you set out.",
    ],
]


def travel(rng: random.Random, target: int) -> tuple[str, dict]:
    town = rng.choice(TOWNS)
    cur = rng.choice(["\u20ac", "\u00a3", "$"])
    f = Filler(rng, town=town, price=f"{cur}{rng.randint(45, 140)}", price2=f"{cur}{rng.randint(30, 90)}",
               price3=f"{cur}{rng.randint(12, 25)}")
    title = f("[A weekend in {town}|{town}: a slow travel guide|Getting to know {town}|Why {town} deserves more than a day trip]")
    paras = [title, f(rng.choice(TRAVEL[0]))]
    fill_to(f, paras, TRAVEL[1:], target, 2, 4)
    return "\n\n".join(trim_to(paras, target + 30)), {"genre": "travel"}


# --------------------------------------------------------------------------------------------------
# General: popular science
# --------------------------------------------------------------------------------------------------

SCIENCE: dict[str, list[str]] = {
    "tides": [
        "Tides are caused mainly by the gravitational pull of the Moon, which stretches the oceans into two bulges on opposite sides of the Earth.",
        "As the Earth rotates beneath these bulges, most coasts experience two high tides and two low tides roughly every day.",
        "The Sun also raises tides, about half as strong as the Moon's, and when the two line up at new and full moon the range is largest.",
        "The shape of a coastline can amplify the tide dramatically; in some funnel-shaped bays the water rises by more than ten metres.",
        "Tidal friction is slowly lengthening the day and pushing the Moon a few centimetres further away each year.",
    ],
    "photosynthesis": [
        "Photosynthesis is the process by which plants, algae and some bacteria use light energy to turn carbon dioxide and water into sugars.",
        "The light-dependent reactions take place in the thylakoid membranes of the chloroplast, where chlorophyll absorbs mostly red and blue light.",
        "Oxygen is released as a by-product when water molecules are split to supply electrons.",
        "The sugars made in the Calvin cycle are used for growth or stored as starch for the night.",
        "Almost all the oxygen in the atmosphere was produced by photosynthesis over billions of years.",
    ],
    "volcanoes": [
        "Volcanoes form where molten rock, called magma, rises through the crust and erupts at the surface.",
        "Most are found along the edges of tectonic plates, either where plates pull apart or where one plate sinks beneath another.",
        "The explosiveness of an eruption depends largely on how much gas and silica the magma contains.",
        "Runny basalt lava, as in many ocean islands, tends to flow quietly, while sticky, gas-rich magma can shatter into ash.",
        "Scientists monitor small earthquakes, ground swelling and gas emissions to judge when a volcano may erupt.",
    ],
    "immunity": [
        "The immune system has two broad branches: an innate response that acts within hours, and an adaptive response that takes days to build.",
        "White blood cells called lymphocytes recognise specific molecules on invading microbes.",
        "After an infection, some of these cells persist as memory cells, allowing a faster response the next time.",
        "Vaccines work by showing the immune system a harmless version or piece of a pathogen so that memory forms without illness.",
        "Fever, although unpleasant, helps some immune cells work faster and makes conditions harder for many bacteria.",
    ],
    "sound": [
        "Sound is a pressure wave that travels through a medium such as air, water or rock.",
        "In air at room temperature it moves at roughly 343 metres per second, several times slower than in water.",
        "The pitch we hear depends on the frequency of the wave, and loudness on its amplitude.",
        "Human hearing typically spans about twenty hertz to twenty kilohertz, with the upper limit falling with age.",
        "Echoes occur when sound reflects from a hard surface, which bats and dolphins use to locate prey.",
    ],
    "stars": [
        "Stars are born in cold clouds of gas and dust that collapse under their own gravity.",
        "When the core becomes hot and dense enough, hydrogen nuclei fuse into helium and release enormous amounts of energy.",
        "A star's mass determines almost everything about its life, from its colour and brightness to how it will end.",
        "Small red dwarfs burn slowly and may shine for trillions of years, while massive stars exhaust their fuel in a few million.",
        "The heaviest stars end in supernova explosions that scatter the elements later found in planets and living things.",
    ],
    "soil": [
        "Soil is a mixture of weathered rock, organic matter, water, air and an enormous number of living organisms.",
        "A single handful can contain more microbes than there are people on Earth.",
        "Earthworms mix the layers and create channels that let water and roots move downward.",
        "It can take centuries to form a few centimetres of topsoil, yet erosion can remove it in a single storm.",
        "Farmers protect soil by planting cover crops, reducing ploughing and keeping the ground covered through winter.",
    ],
    "glaciers": [
        "A glacier forms where more snow falls each winter than melts each summer, so that the snow slowly compacts into ice.",
        "Under its own weight the ice deforms and flows downhill, often only a few metres a year but sometimes much faster.",
        "Rocks frozen into the base of the glacier scrape the bedrock, carving the U-shaped valleys seen in many mountain regions.",
        "When a glacier retreats it leaves behind ridges of loose debris called moraines.",
        "Ice cores drilled from glaciers preserve bubbles of ancient air, giving a record of past climate.",
        "Meltwater from glaciers feeds rivers that millions of people rely on during dry summers.",
    ],
    "bees": [
        "Honeybees live in colonies of tens of thousands of workers, a single queen and, in summer, a few hundred males.",
        "A returning forager tells her sisters where to find flowers by performing a waggle dance on the comb.",
        "The angle of the dance relative to vertical shows the direction of the food compared with the sun.",
        "Bees turn nectar into honey by adding enzymes and fanning it with their wings until most of the water evaporates.",
        "Many wild bees are solitary, nesting alone in hollow stems or small burrows in bare ground.",
        "Without insect pollinators, the yields of many fruit and seed crops would fall sharply.",
    ],
    "rainbows": [
        "A rainbow appears when sunlight enters raindrops, bends, reflects from the back of the drop and bends again as it leaves.",
        "Because each colour bends by a slightly different amount, white light is spread into a band of colours.",
        "The bow always appears opposite the sun, and its centre lies directly in line with the observer's shadow.",
        "A fainter second bow, with its colours reversed, is produced by light that reflects twice inside each drop.",
        "No two people see exactly the same rainbow, since each sees light from a different set of drops.",
    ],
}
SCI_GENERIC = [
    "Researchers are still debating some of the details, and new measurements continue to refine the picture.",
    "The idea was first proposed in the nineteenth century, but it was not widely accepted until better instruments became available.",
    "A simple experiment at home can show the principle, using only a glass of water and a torch.",
    "Understanding this process matters for [agriculture|public health|engineering|climate research|navigation].",
    "It is a good example of how a small effect, repeated over a long time, can shape the world around us.",
    "Measurements made by satellites over the past few decades have added a great deal of detail.",
    "Like many natural processes, it can be described by a simple rule of thumb that breaks down in extreme cases.",
    "Teachers often introduce the topic with a demonstration, because the underlying idea is easier to see than to describe.",
    "There are still open questions, particularly about how the process behaved in the distant past.",
    "Popular accounts sometimes exaggerate the effect, but the basic explanation has held up well.",
]


def science(rng: random.Random, target: int) -> tuple[str, dict]:
    topic = rng.choice(sorted(SCIENCE))
    f = Filler(rng)
    pool = SCIENCE[topic]
    title = f(f"{topic.capitalize()}[: an introduction|: a short explainer|: the basics|]")
    paras = [title, " ".join(pool[:2])]
    rest = pool[2:] + [f(t) for t in SCI_GENERIC]
    rng.shuffle(rest)
    while rest and sum(words(p) for p in paras) < target:
        k = rng.randint(2, 3)
        paras.append(" ".join(rest[:k]))
        rest = rest[k:]
    return "\n\n".join(trim_to(paras, target + 30)), {"genre": "science", "topic": topic}


# --------------------------------------------------------------------------------------------------
# General: cooking
# --------------------------------------------------------------------------------------------------

COOK_INTRO = [
    "This {dish} is the kind of dish that tastes better the next day, so it is worth making a double batch.",
    "My grandmother made {dish} every Sunday, and this version stays close to hers, with a little extra {spice}.",
    "{dish_c} needs no special equipment, just a heavy pan and a little patience.",
    "On a cold evening there are few things more comforting than a bowl of {dish}.",
    "This recipe for {dish} serves four and takes about {n2} minutes from start to finish.",
]
COOK_INGREDIENTS = ["{g} g plain flour", "2 tablespoons olive oil", "1 large onion, finely chopped", "3 cloves garlic, crushed",
                    "{g} g {vegetable}", "1 teaspoon ground {spice}", "500 ml vegetable stock", "a pinch of salt",
                    "{g} g butter", "2 eggs", "1 lemon, zest and juice", "a handful of fresh parsley", "{g} ml milk",
                    "1 tin chopped tomatoes", "{g} g dried lentils", "100 g grated cheese"]
COOK_STEPS = [
    "Heat the oil in a large pan over a medium heat and cook the onion for eight to ten minutes, until soft and golden.",
    "Add the garlic and the {spice} and stir for another minute, taking care that nothing burns.",
    "Tip in the {vegetable} and the stock, bring to a gentle simmer and cook for twenty minutes.",
    "Meanwhile, preheat the oven to 180 degrees and lightly grease a baking dish.",
    "Season generously, then taste and adjust with a squeeze of lemon juice.",
    "Rub the butter into the flour with your fingertips until the mixture looks like breadcrumbs.",
    "Pour the mixture into the dish, scatter the cheese over the top and bake for thirty minutes, until bubbling.",
    "Leave to rest for five minutes before serving, so the flavours settle.",
    "Whisk the eggs and milk together in a jug, then stir them into the dry ingredients.",
]
COOK_TIPS = [
    "If you cannot find fresh {vegetable}, frozen ones work perfectly well.",
    "Leftovers keep for three days in the fridge and freeze well for a month.",
    "For a vegetarian version, leave out the cheese or use a plant-based alternative.",
    "A spoonful of yoghurt on top adds a welcome sharpness.",
    "Cooking the onions slowly is the secret; hurrying them gives a harsher flavour.",
    "Buying the spices whole and grinding them yourself is cheaper and tastes better.",
]


def cooking(rng: random.Random, target: int) -> tuple[str, dict]:
    dish = rng.choice(VOCAB["dish"])
    f = Filler(rng, dish=dish, dish_c=dish.capitalize())
    ingr = [f(t.replace("{g}", str(rng.choice([50, 100, 150, 200, 250, 300, 400])))) for t in rng.sample(COOK_INGREDIENTS, rng.randint(5, 9))]
    picked = rng.sample(range(len(COOK_STEPS)), rng.randint(4, 7))
    steps = [f(COOK_STEPS[i]) for i in sorted(picked)]
    bullet = rng.choice(["- ", "* ", "\u2022 "])
    paras = [dish.capitalize(), f.sentences(COOK_INTRO, rng.randint(1, 3)), "Ingredients",
             "\n".join(bullet + i for i in ingr), "Method", "\n".join(f"{n}. {s}" for n, s in enumerate(steps, 1))]
    if rng.random() < 0.7:
        paras.append(f.sentences(COOK_TIPS, rng.randint(1, 3)))
    return "\n\n".join(paras), {"genre": "cooking"}


# --------------------------------------------------------------------------------------------------
# General: sport
# --------------------------------------------------------------------------------------------------

SPORT_OPEN = [
    "{home} came from behind to beat {away} {hs}-{as_} on {weekday}, lifting them to {pos_} in the table.",
    "{away} held on for a {as_}-{hs} win at {home}, despite playing the final twenty minutes with ten men.",
    "A late goal from {p1} earned {home} a {hs}-{as_} draw against {away} in a match that rarely rose above the ordinary.",
]
SPORT_BODY = [
    "{p1} opened the scoring in the {m1} minute, curling a low shot inside the far post.",
    "The visitors equalised shortly before half-time when {p2} headed in a corner at the near post.",
    "The second half was scrappy, with both sides struggling to keep the ball on a heavy pitch.",
    "{p2} was shown a second yellow card in the {m2} minute for a late challenge in midfield.",
    "The goalkeeper made three fine saves in the closing stages to keep his side in the game.",
    "The attendance of {crowd} was the highest at the ground this season.",
    "{home} have now gone {n1} matches unbeaten, their best run since the club was promoted.",
    "Injuries to two senior defenders forced the manager to play a teenager at centre-back, and he did not look out of place.",
    "The club confirmed during the week that it had agreed a fee of around {fee} for a striker from a rival club.",
    "Supporters complained about ticket prices, which have risen to {ticket} for adults this season.",
    "The home side pressed high from the first whistle and forced a string of corners in the opening quarter of an hour.",
    "A penalty appeal was waved away after {p1} went down under a challenge on the edge of the area.",
    "The substitute made an immediate impact, setting up a chance within a minute of coming on.",
    "Both managers will have been frustrated by the number of misplaced passes in the middle of the park.",
    "Rain fell steadily throughout the second half, and the surface became heavier as the game went on.",
    "The result leaves {away} in the bottom half of the table with a difficult run of fixtures to come.",
    "{p2} hit the crossbar with a free kick just after the hour, the closest the visitors came to a second goal.",
    "The referee added six minutes of stoppage time, much to the annoyance of the home crowd.",
]
SPORT_QUOTE = [
    "\u201cWe showed real character after going behind,\u201d said the {home} manager, {coach}. \u201cThe players never stopped running.\u201d",
    "\u201cWe were second best for an hour, and you can't do that at this level,\u201d admitted the {home} manager, {coach}.",
    "\u201cIt's one point, not the end of the world,\u201d said {coach}. \u201cWe go again on Saturday.\u201d",
]


def sport(rng: random.Random, target: int) -> tuple[str, dict]:
    home, away = VOCAB["club"](rng), VOCAB["club"](rng)
    opening = rng.randrange(len(SPORT_OPEN))
    lo, hi = rng.randint(0, 2), rng.randint(1, 2)
    hs, as_ = [(lo + hi, lo), (lo, lo + hi), (lo, lo)][opening]
    p1, p2 = f"{rng.choice(FIRST)} {rng.choice(LAST)}", f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    f = Filler(rng, home=home, away=away, hs=hs, as_=as_, p1=p1, p2=p2,
               pos_=rng.choice(["third", "fifth", "mid-table", "second", "the play-off places"]),
               m1=ordinal(rng.randint(5, 44)), m2=ordinal(rng.randint(50, 88)), crowd=f"{rng.randint(4000, 38000):,}",
               n1=rng.randint(3, 11), fee=f"\u00a3{rng.randint(2, 40)} million", ticket=f"\u00a3{rng.randint(25, 60)}",
               coach=f"{rng.choice(FIRST)} {rng.choice(LAST)}")
    paras = [f(SPORT_OPEN[opening])]
    while sum(words(p) for p in paras) < target:
        para = f.sentences(SPORT_BODY, rng.randint(2, 3))
        if not para:
            break
        paras.append(para)
        if rng.random() < 0.3:
            paras.append(f.sentences(SPORT_QUOTE[opening:opening + 1], 1))
    paras = [p for p in paras if p]
    return "\n\n".join(trim_to(paras, target + 30)), {"genre": "sport"}


# --------------------------------------------------------------------------------------------------
# General: history
# --------------------------------------------------------------------------------------------------

HIST = [
    "In the {cent} century the kingdom of {realm} controlled the river trade between the mountains and the sea.",
    "Its rulers grew rich on tolls levied at the fortified crossing, and the treasury paid for a new cathedral and a stone harbour wall.",
    "The reign of {ruler} began with a disputed succession that took three years and two battles to settle.",
    "Contemporary chroniclers describe a court that moved constantly between royal estates, living off the produce of each in turn.",
    "Heavy taxation to pay for the war with its northern neighbour provoked a revolt among the towns in {ryear}.",
    "To raise money the crown debased the silver coinage, and prices in the markets rose sharply as a result.",
    "Merchants from the south brought spices, glass and fine cloth, and paid for grain and timber with silver.",
    "A series of poor harvests, followed by an outbreak of plague, reduced the population by perhaps a third.",
    "The monasteries kept the only written records for much of the period, and their accounts are often partial.",
    "By the end of the century the kingdom had been absorbed by marriage into a larger neighbouring state.",
    "Historians have long argued over whether the decline was caused by war, disease or the shifting of trade routes.",
    "Archaeologists excavating the harbour in the last century found timber jetties, coins and fragments of imported pottery.",
    "Peasants owed their lord labour on his fields for several days each week, as well as a share of their own harvest.",
    "The charter granted to the town in {ryear} allowed it to hold a weekly market and elect its own council.",
    "The great hall of the royal castle, rebuilt after a fire, could seat several hundred guests at a feast.",
    "Pilgrims travelling to the shrine at the river mouth brought a steady income to the inns and ferrymen.",
    "The nobility were divided between families loyal to the crown and those who looked to the northern court for support.",
    "Wool was the kingdom's chief export, shipped in bales from the harbour to the weaving towns across the sea.",
    "Surviving tax rolls list bakers, tanners, smiths and a surprising number of brewers in the capital.",
    "A law code issued during the reign set out fines for theft and violence according to the rank of the victim.",
    "Disputes over fishing rights in the estuary led to repeated clashes with the neighbouring bishopric.",
]


def history(rng: random.Random, target: int) -> tuple[str, dict]:
    realm = rng.choice(["Aldmark", "Vessaly", "Orrland", "Carrowen", "Thessmoor", "Lindaria", "Brevoort", "Kaldria"])
    f = Filler(rng, realm=realm, cent=rng.choice(["twelfth", "thirteenth", "fourteenth", "fifteenth"]),
               ruler=f"{rng.choice(['King', 'Queen'])} {rng.choice(FIRST)} {rng.choice(['I', 'II', 'III', 'the Elder'])}",
               ryear=rng.randint(1150, 1480))
    title = f("[The kingdom of {realm}|{realm} in the Middle Ages|The rise and fall of {realm}|Trade and power in medieval {realm}]")
    paras = [title]
    while sum(words(p) for p in paras) < target:
        para = f.sentences(HIST, rng.randint(2, 4), ordered=True)
        if not para:
            break
        paras.append(para)
    return "\n\n".join(trim_to(paras, target + 30)), {"genre": "history", "realm": realm}


# --------------------------------------------------------------------------------------------------
# Web: boilerplate-heavy pages
# --------------------------------------------------------------------------------------------------

NAV = [
    "Home | About Us | Services | Blog | Contact",
    "Home > News > Local > {town}",
    "Skip to main content",
    "Menu",
    "Search this site",
    "Sign in / Register",
    "Shop  Deals  Gift Cards  Help",
    "\u2022 Home\n\u2022 Products\n\u2022 Pricing\n\u2022 Support\n\u2022 Log in",
    "My Account | Wishlist (0) | Basket (0)",
]
COOKIE = [
    "We use cookies to improve your experience on our website. By continuing to browse, you agree to our use of cookies.",
    "This website uses cookies to ensure you get the best experience. Accept all cookies | Manage preferences",
    "Cookie settings: We and our partners use cookies for analytics and personalised advertising. Accept | Reject | Learn more",
    "By clicking \u201cAccept\u201d you consent to the storing of cookies on your device.",
]
JS = [
    "Please enable JavaScript to view this page.",
    "JavaScript is disabled in your browser. Some features of this site will not work.",
    "You need to enable JavaScript to run this app.",
    "Your browser is out of date. Please update it to view this website correctly.",
]
CTA = [
    "Click here to subscribe to our newsletter!",
    "Click here for more information.",
    "Read more \u00bb",
    "Share on Facebook  Share on Twitter  Share by Email",
    "Leave a comment",
    "Loading...",
    "Back to top \u2191",
    "Sign up now and get 10% off your first order!!!",
    "Don't miss out... subscribe today...",
    "#deals #sale #bestprice #freeshipping #onlineshopping",
]
FOOTER = [
    "Copyright \u00a9 {cyear} {site}. All rights reserved.",
    "Privacy Policy | Terms of Use | Cookie Policy | Sitemap",
    "Follow us on Facebook, Twitter and Instagram",
    "Posted in Uncategorized | Tagged news, update, info | Leave a comment",
    "Page 1 of {n2}   \u00ab Previous   Next \u00bb",
    "Powered by WordPress | Theme by ThemeShop",
]
LINK_TITLES = [
    "10 tips for a better morning routine", "Best hotels near the airport", "How to fix a slow laptop",
    "Cheap flights this weekend", "Top 5 garden tools of the year", "Why you should drink more water",
    "The ultimate guide to home insurance", "Celebrity news roundup", "Free printable calendars",
    "See what happened next...", "You won't believe these photos", "Compare broadband deals",
]
LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore "
         "magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo "
         "consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat nulla pariatur").split()
SITES = ["bestdeals-online.example", "newsportal24.example", "mytownguide.example", "shopzone.example",
         "dailyclick.example", "infohub.example", "topreviews.example"]


def lorem(rng: random.Random, n_words: int) -> str:
    out, sent = [], []
    for i in range(n_words):
        w = LOREM[i] if i < 5 else rng.choice(LOREM)  # always opens "lorem ipsum dolor sit amet"
        sent.append(w)
        if len(sent) >= rng.randint(6, 14) or i == n_words - 1:
            s = " ".join(sent)
            out.append(s[0].upper() + s[1:] + ".")
            sent = []
    return " ".join(out)


BOILERPLATE_VARIANTS = ["lorem", "links", "repeat", "thin", "teaser"]


def boilerplate_page(rng: random.Random, target: int, variant: str | None = None) -> tuple[str, dict]:
    """Page furniture around filler: lorem ipsum, a link list, a repeated line, a stub, or a prose teaser."""
    f = Filler(rng, site=rng.choice(SITES), cyear=rng.randint(2012, 2024))
    parts: list[str] = [f(t) for t in rng.sample(NAV, rng.randint(2, 4))]
    if rng.random() < 0.7:
        parts.append(rng.choice(COOKIE))
    if rng.random() < 0.5:
        parts.append(rng.choice(JS))
    kind = variant or rng.choice(BOILERPLATE_VARIANTS)
    if kind == "lorem":
        parts.append(lorem(rng, rng.randint(40, max(41, target // 2))))
    elif kind == "links":
        parts.append(rng.choice(["Related posts:", "You may also like", "Popular this week", "Trending now"]))
        parts.append("\n".join(f"\u2022 {t}" for t in rng.sample(LINK_TITLES, rng.randint(5, 10))))
    elif kind == "repeat":
        line = f(rng.choice(["Buy now and save big on {dish}!", "Free shipping on all orders over $50",
                             "Limited stock available - order today", "New arrivals every week"]))
        parts.append("\n".join([line] * rng.randint(4, 9)))
    elif kind == "teaser":  # a little real prose drowned in page furniture
        pool = rng.choice([TRAVEL[1], HIST, SCIENCE[rng.choice(sorted(SCIENCE))], ARTICLE["garden"]])
        parts.append(Filler(rng, realm="the kingdom", cent="fourteenth", ruler="the old king", ryear=1320,
                            town=rng.choice(TOWNS)).sentences(pool, rng.randint(1, 3)) + " Read more \u00bb")
    else:
        parts.append(f(rng.choice(["Welcome to our website. We are glad you are here.",
                                   "This page is under construction. Please check back soon.",
                                   "No results found for your search.", "Sorry, the page you requested could not be found.",
                                   "Item added to cart. Continue shopping or proceed to checkout."])))
    parts += [f(t) for t in rng.sample(CTA, rng.randint(2, 5))]
    parts += [f(t) for t in rng.sample(FOOTER, rng.randint(2, 4))]
    return "\n".join(parts), {"kind": "boilerplate", "variant": kind}


# --------------------------------------------------------------------------------------------------
# Web: spam that borrows finance words (hard negative for the domain classifier)
# --------------------------------------------------------------------------------------------------

SPAM = [
    "GET APPROVED TODAY!!! Personal loans up to ${amt} with NO credit check.",
    "Bad credit? No problem! Our lenders approve 99% of applications in minutes.",
    "Refinance your mortgage NOW and lower your monthly payment by up to ${amt2}!!!",
    "Rates as low as {smallpct}% APR - limited time offer, act now before rates go up!",
    "Turn $250 into ${amt} in just one week with our automated crypto trading bot.",
    "Guaranteed returns of {n3}% per month. This is NOT a scam. Thousands of happy investors!!!",
    "Join the Bitcoin revolution and become a millionaire from home. Banks HATE this one trick.",
    "Forex signals with 98% accuracy. Click the link below to start earning passive income today.",
    "Work from home and make ${amt2} a week. No experience needed. No investment required.",
    "Congratulations! You have been pre-selected for a {amt}-dollar cash advance. Claim your funds now.",
    "Consolidate ALL your debts into one easy payment. Stop the calls from collectors TODAY.",
    "Hot stock alert: {ticker} is about to explode. Buy before the announcement and watch your portfolio soar!",
    "Our exclusive investment club doubled its money last quarter. Only 10 spots remaining!!!",
    "Wire the processing fee of $99 and your loan will be deposited within 24 hours.",
    "Free credit score check - see your score in 60 seconds without affecting your rating.",
    "Earn interest of up to 20% a year on your savings with our new high-yield crypto account.",
    "Dear friend, I am a bank manager with a proposal that will benefit us both. Reply with your account details.",
]
SPAM_TAIL = [
    "Click here to apply now >>>",
    "Unsubscribe | Manage email preferences",
    "*Terms and conditions apply. Offer valid while supplies last.",
    "CALL NOW: 1-800-555-0199",
    "Reply STOP to opt out.",
    "This message was sent to you because you signed up for financial offers.",
]


def spam(rng: random.Random, target: int) -> tuple[str, dict]:
    f = Filler(rng, amt=f"{rng.choice([5000, 10000, 25000, 50000, 100000]):,}", amt2=f"{rng.choice([300, 500, 800, 1200]):,}")
    lines = [f(t) for t in rng.sample(SPAM, rng.randint(3, 9))]
    if rng.random() < 0.4:
        lines.append(lines[0])
    lines += rng.sample(SPAM_TAIL, rng.randint(1, 3))
    sep = rng.choice(["\n", "\n\n", " "])
    return sep.join(lines), {"kind": "spam"}


# --------------------------------------------------------------------------------------------------
# Web: non-English text (written for this project)
# --------------------------------------------------------------------------------------------------

FOREIGN: dict[str, list[str]] = {
    "de": [
        "Die kleine Stadt {town} liegt an einem ruhigen Fluss und ist bekannt f\u00fcr ihre alte Br\u00fccke aus dem sechzehnten Jahrhundert.",
        "Am Wochenende findet auf dem Marktplatz ein Bauernmarkt statt, auf dem regionale Produzenten K\u00e4se, Brot und Obst verkaufen.",
        "Der Gemeinderat hat gestern beschlossen, die Bibliothek zu renovieren und die \u00d6ffnungszeiten zu verl\u00e4ngern.",
        "Nach einem regnerischen Fr\u00fchling erwarten die Winzer in diesem Jahr eine eher kleine, aber hochwertige Ernte.",
        "Viele Besucher kommen im Sommer, um auf den Wanderwegen rund um den See spazieren zu gehen.",
        "Die Schule plant f\u00fcr den Herbst ein Projekt, bei dem die Kinder einen eigenen Garten anlegen.",
        "Im Museum ist derzeit eine Ausstellung \u00fcber die Geschichte der Eisenbahn in der Region zu sehen.",
        "Die Polizei bittet Autofahrer, wegen der Bauarbeiten auf der Hauptstra\u00dfe eine Umleitung zu nutzen.",
        "Das Wetter bleibt in den kommenden Tagen wechselhaft, mit Schauern am Nachmittag und k\u00fchlen N\u00e4chten.",
        "F\u00fcr das Rezept braucht man Kartoffeln, Zwiebeln, etwas Butter und eine Prise Muskatnuss.",
        "Die Mannschaft gewann das Spiel am Samstag nach einer starken zweiten Halbzeit mit zwei zu eins.",
        "Der Verein sucht noch freiwillige Helfer f\u00fcr das Sommerfest im Juli.",
        "Die Zentralbank hat den Leitzins unver\u00e4ndert gelassen und verweist auf die weiterhin hohe Inflation.",
        "Das Unternehmen meldete f\u00fcr das dritte Quartal einen Umsatzanstieg von acht Prozent und einen h\u00f6heren Gewinn.",
    ],
    "fr": [
        "Le petit village de {town} se trouve au pied des montagnes, entour\u00e9 de champs de lavande et de vieux oliviers.",
        "Chaque samedi matin, le march\u00e9 s'installe sur la place de l'\u00e9glise et attire les habitants des communes voisines.",
        "La mairie a annonc\u00e9 la r\u00e9novation de l'\u00e9cole primaire, dont les travaux commenceront au printemps prochain.",
        "Les pluies abondantes de ces derniers jours ont fait monter le niveau de la rivi\u00e8re.",
        "Le mus\u00e9e municipal propose une nouvelle exposition consacr\u00e9e aux peintres de la r\u00e9gion.",
        "Pour pr\u00e9parer cette tarte, il faut des pommes, de la farine, du beurre et un peu de sucre.",
        "L'\u00e9quipe locale a remport\u00e9 le match dimanche gr\u00e2ce \u00e0 un but marqu\u00e9 dans les derni\u00e8res minutes.",
        "De nombreux touristes viennent en \u00e9t\u00e9 pour se baigner dans le lac et se promener dans la for\u00eat.",
        "La biblioth\u00e8que sera ferm\u00e9e pendant deux semaines en raison de travaux d'entretien.",
        "Les pr\u00e9visions annoncent un temps ensoleill\u00e9 pour le week-end, avec des temp\u00e9ratures agr\u00e9ables.",
        "Le festival de musique r\u00e9unit chaque ann\u00e9e des artistes venus de toute l'Europe.",
        "La banque centrale a maintenu ses taux directeurs, jugeant que l'inflation restait trop \u00e9lev\u00e9e.",
    ],
    "es": [
        "El pueblo de {town} est\u00e1 situado junto al mar y es famoso por sus casas blancas y sus calles estrechas.",
        "Cada domingo se celebra un mercado donde los vecinos venden frutas, verduras y pan reci\u00e9n hecho.",
        "El ayuntamiento ha aprobado un plan para construir un nuevo parque cerca de la estaci\u00f3n de tren.",
        "Durante el verano, miles de visitantes llegan para disfrutar de las playas y de la gastronom\u00eda local.",
        "La receta tradicional lleva arroz, azafr\u00e1n, pimiento rojo y un buen caldo de pescado.",
        "El equipo gan\u00f3 el partido del s\u00e1bado con un gol en el \u00faltimo minuto.",
        "La biblioteca municipal ofrece talleres de lectura para ni\u00f1os todos los mi\u00e9rcoles por la tarde.",
        "Las lluvias de la semana pasada causaron algunos problemas en las carreteras de la comarca.",
        "El museo presenta una exposici\u00f3n sobre la historia de la pesca en la costa.",
        "Se espera un fin de semana caluroso, con temperaturas que superar\u00e1n los treinta grados.",
        "La empresa anunci\u00f3 que sus ventas crecieron un seis por ciento en el \u00faltimo trimestre.",
    ],
    "it": [
        "Il borgo di {town} sorge su una collina circondata da vigneti e boschi di castagni.",
        "Ogni venerd\u00ec in piazza si tiene un mercato dove si trovano formaggi, salumi e verdure di stagione.",
        "Il comune ha deciso di restaurare la vecchia fontana e di ampliare la zona pedonale.",
        "In estate molti turisti arrivano per visitare le chiese antiche e assaggiare la cucina locale.",
        "Per preparare il sugo servono pomodori maturi, aglio, olio d'oliva e qualche foglia di basilico.",
        "La squadra di casa ha vinto la partita di domenica con un gol nel secondo tempo.",
        "La biblioteca rester\u00e0 chiusa per lavori di manutenzione fino alla fine del mese.",
        "Le previsioni indicano cielo sereno per il fine settimana, con temperature in aumento.",
        "Il museo civico ospita una mostra dedicata agli artigiani della ceramica.",
        "La banca centrale ha lasciato invariati i tassi di interesse, citando l'incertezza economica.",
    ],
    "ru": [
        "\u041d\u0435\u0431\u043e\u043b\u044c\u0448\u043e\u0439 \u0433\u043e\u0440\u043e\u0434 \u0440\u0430\u0441\u043f\u043e\u043b\u043e\u0436\u0435\u043d \u043d\u0430 \u0431\u0435\u0440\u0435\u0433\u0443 \u0440\u0435\u043a\u0438 \u0438 \u0441\u043b\u0430\u0432\u0438\u0442\u0441\u044f \u0441\u0432\u043e\u0438\u043c\u0438 \u0441\u0442\u0430\u0440\u044b\u043c\u0438 \u0434\u0435\u0440\u0435\u0432\u044f\u043d\u043d\u044b\u043c\u0438 \u0434\u043e\u043c\u0430\u043c\u0438.",
        "\u041a\u0430\u0436\u0434\u0443\u044e \u0441\u0443\u0431\u0431\u043e\u0442\u0443 \u043d\u0430 \u0446\u0435\u043d\u0442\u0440\u0430\u043b\u044c\u043d\u043e\u0439 \u043f\u043b\u043e\u0449\u0430\u0434\u0438 \u0440\u0430\u0431\u043e\u0442\u0430\u0435\u0442 \u0440\u044b\u043d\u043e\u043a, \u0433\u0434\u0435 \u043f\u0440\u043e\u0434\u0430\u044e\u0442 \u043e\u0432\u043e\u0449\u0438, \u043c\u0451\u0434 \u0438 \u0441\u0432\u0435\u0436\u0438\u0439 \u0445\u043b\u0435\u0431.",
        "\u041b\u0435\u0442\u043e\u043c \u0441\u044e\u0434\u0430 \u043f\u0440\u0438\u0435\u0437\u0436\u0430\u0435\u0442 \u043c\u043d\u043e\u0433\u043e \u0442\u0443\u0440\u0438\u0441\u0442\u043e\u0432, \u0447\u0442\u043e\u0431\u044b \u043e\u0442\u0434\u043e\u0445\u043d\u0443\u0442\u044c \u043d\u0430 \u043e\u0437\u0435\u0440\u0435 \u0438 \u043f\u043e\u0433\u0443\u043b\u044f\u0442\u044c \u043f\u043e \u043b\u0435\u0441\u0443.",
        "\u041c\u0435\u0441\u0442\u043d\u0430\u044f \u0431\u0438\u0431\u043b\u0438\u043e\u0442\u0435\u043a\u0430 \u043f\u0440\u043e\u0432\u043e\u0434\u0438\u0442 \u0432\u0441\u0442\u0440\u0435\u0447\u0438 \u0441 \u043f\u0438\u0441\u0430\u0442\u0435\u043b\u044f\u043c\u0438 \u0438 \u0437\u0430\u043d\u044f\u0442\u0438\u044f \u0434\u043b\u044f \u0434\u0435\u0442\u0435\u0439.",
    ],
    "el": [
        "\u03a4\u03bf \u03bc\u03b9\u03ba\u03c1\u03cc \u03c7\u03c9\u03c1\u03b9\u03cc \u03b2\u03c1\u03af\u03c3\u03ba\u03b5\u03c4\u03b1\u03b9 \u03b4\u03af\u03c0\u03bb\u03b1 \u03c3\u03c4\u03b7 \u03b8\u03ac\u03bb\u03b1\u03c3\u03c3\u03b1 \u03ba\u03b1\u03b9 \u03b5\u03af\u03bd\u03b1\u03b9 \u03b3\u03bd\u03c9\u03c3\u03c4\u03cc \u03b3\u03b9\u03b1 \u03c4\u03b1 \u03bb\u03b5\u03c5\u03ba\u03ac \u03c4\u03bf\u03c5 \u03c3\u03c0\u03af\u03c4\u03b9\u03b1.",
        "\u039a\u03ac\u03b8\u03b5 \u039a\u03c5\u03c1\u03b9\u03b1\u03ba\u03ae \u03b3\u03af\u03bd\u03b5\u03c4\u03b1\u03b9 \u03bb\u03b1\u03ca\u03ba\u03ae \u03b1\u03b3\u03bf\u03c1\u03ac \u03c3\u03c4\u03b7\u03bd \u03c0\u03bb\u03b1\u03c4\u03b5\u03af\u03b1 \u03bc\u03b5 \u03c6\u03c1\u03ad\u03c3\u03ba\u03b1 \u03c6\u03c1\u03bf\u03cd\u03c4\u03b1 \u03ba\u03b1\u03b9 \u03bb\u03b1\u03c7\u03b1\u03bd\u03b9\u03ba\u03ac.",
        "\u03a4\u03bf \u03ba\u03b1\u03bb\u03bf\u03ba\u03b1\u03af\u03c1\u03b9 \u03c0\u03bf\u03bb\u03bb\u03bf\u03af \u03b5\u03c0\u03b9\u03c3\u03ba\u03ad\u03c0\u03c4\u03b5\u03c2 \u03ad\u03c1\u03c7\u03bf\u03bd\u03c4\u03b1\u03b9 \u03b3\u03b9\u03b1 \u03bd\u03b1 \u03ba\u03bf\u03bb\u03c5\u03bc\u03c0\u03ae\u03c3\u03bf\u03c5\u03bd \u03ba\u03b1\u03b9 \u03bd\u03b1 \u03b4\u03bf\u03ba\u03b9\u03bc\u03ac\u03c3\u03bf\u03c5\u03bd \u03c4\u03b7\u03bd \u03c4\u03bf\u03c0\u03b9\u03ba\u03ae \u03ba\u03bf\u03c5\u03b6\u03af\u03bd\u03b1.",
    ],
    "ja": [
        "\u3053\u306e\u753a\u306f\u5ddd\u306e\u307b\u3068\u308a\u306b\u3042\u308a\u3001\u53e4\u3044\u77f3\u6a4b\u3067\u77e5\u3089\u308c\u3066\u3044\u307e\u3059\u3002",
        "\u6bce\u9031\u571f\u66dc\u65e5\u306b\u306f\u5e83\u5834\u3067\u5e02\u5834\u304c\u958b\u304b\u308c\u3001\u91ce\u83dc\u3084\u679c\u7269\u3001\u30d1\u30f3\u304c\u58f2\u3089\u308c\u3066\u3044\u307e\u3059\u3002",
        "\u590f\u306b\u306f\u591a\u304f\u306e\u89b3\u5149\u5ba2\u304c\u6e56\u3084\u5c71\u3092\u8a2a\u308c\u307e\u3059\u3002",
        "\u5730\u5143\u306e\u56f3\u66f8\u9928\u3067\u306f\u5b50\u3069\u3082\u5411\u3051\u306e\u8aad\u66f8\u4f1a\u304c\u6bce\u6708\u958b\u304b\u308c\u3066\u3044\u307e\u3059\u3002",
    ],
    "zh": [
        "\u8fd9\u4e2a\u5c0f\u9547\u4f4d\u4e8e\u6cb3\u8fb9\uff0c\u4ee5\u53e4\u8001\u7684\u77f3\u6865\u800c\u95fb\u540d\u3002",
        "\u6bcf\u4e2a\u5468\u672b\uff0c\u5e7f\u573a\u4e0a\u90fd\u4f1a\u6709\u96c6\u5e02\uff0c\u51fa\u552e\u65b0\u9c9c\u7684\u6c34\u679c\u548c\u852c\u83dc\u3002",
        "\u590f\u5929\u6709\u5f88\u591a\u6e38\u5ba2\u6765\u8fd9\u91cc\u722c\u5c71\u548c\u6e38\u6cf3\u3002",
        "\u5f53\u5730\u7684\u56fe\u4e66\u9986\u6bcf\u4e2a\u6708\u90fd\u4f1a\u4e3a\u5b69\u5b50\u4eec\u4e3e\u529e\u8bfb\u4e66\u6d3b\u52a8\u3002",
    ],
    "ar": [
        "\u062a\u0642\u0639 \u0627\u0644\u0628\u0644\u062f\u0629 \u0627\u0644\u0635\u063a\u064a\u0631\u0629 \u0639\u0644\u0649 \u0636\u0641\u0629 \u0627\u0644\u0646\u0647\u0631 \u0648\u062a\u0634\u062a\u0647\u0631 \u0628\u062c\u0633\u0631\u0647\u0627 \u0627\u0644\u062d\u062c\u0631\u064a \u0627\u0644\u0642\u062f\u064a\u0645.",
        "\u0641\u064a \u0643\u0644 \u064a\u0648\u0645 \u0633\u0628\u062a \u064a\u0642\u0627\u0645 \u0633\u0648\u0642 \u0641\u064a \u0627\u0644\u0633\u0627\u062d\u0629 \u0627\u0644\u0631\u0626\u064a\u0633\u064a\u0629 \u062a\u0628\u0627\u0639 \u0641\u064a\u0647 \u0627\u0644\u062e\u0636\u0631\u0648\u0627\u062a \u0648\u0627\u0644\u0641\u0648\u0627\u0643\u0647.",
        "\u064a\u0632\u0648\u0631 \u0627\u0644\u0645\u062f\u064a\u0646\u0629 \u0643\u062b\u064a\u0631 \u0645\u0646 \u0627\u0644\u0633\u064a\u0627\u062d \u0641\u064a \u0641\u0635\u0644 \u0627\u0644\u0635\u064a\u0641.",
    ],
}


def foreign(rng: random.Random, lang: str) -> tuple[str, dict]:
    pool = FOREIGN[lang]
    f = Filler(rng)
    k = rng.randint(min(3, len(pool)), len(pool))
    sents = [f(t) for t in rng.sample(pool, k)]
    cut = rng.randint(1, len(sents) - 1) if len(sents) > 2 else len(sents)
    sep = "" if lang in ("ja", "zh") else " "
    return sep.join(sents[:cut]) + "\n\n" + sep.join(sents[cut:]), {"kind": "non_english", "lang": lang}


# --------------------------------------------------------------------------------------------------
# Web: short fragments, chat-like text, and legitimate articles
# --------------------------------------------------------------------------------------------------

SHORT = ["Thanks!", "Page not found.", "Hello world", "Coming soon", "Out of stock.", "See you there :)",
         "Login required.", "OK", "Test post please ignore", "404", "Great article, thanks for sharing.",
         "Price: $19.99", "Subscribe", "Updated daily.", "Nice pic!!"]
CHAT = [
    "lol yeah i was gonna say that", "anyone know how to fix my wifi?? it keeps dropping", "thx!!", "brb",
    "omg same", "idk maybe try restarting it", "did u see the game last night", "ya it was crazy",
    "can someone send me the link", "nvm found it", "haha", "wait what", "k see u at 7",
    "this is so annoying tbh", "who else is online rn", "gg", "ok cool", "lmao", "pls help",
    "bump", "+1", "same issue here, any update?", "just restart the router mate", "worked for me",
    "no clue sorry", "where did u buy it", "its cheaper on the other site", "sounds good",
    "u coming tonight?", "cant, working late", "ugh mondays", "sent", "got it thanks", ":)", ":(",
    "reply if u know", "first!", "who cares", "exactly this", "seriously??",
]
ARTICLE = {
    "how_to": [
        "Replacing a bicycle inner tube takes about fifteen minutes once you have done it a couple of times.",
        "Start by removing the wheel and letting out any remaining air from the valve.",
        "Use two tyre levers to ease one side of the tyre off the rim, working your way around the wheel.",
        "Before fitting the new tube, run your fingers carefully around the inside of the tyre to find whatever caused the puncture.",
        "Inflate the new tube slightly so that it holds its shape, then tuck it into the tyre, starting at the valve.",
        "Finally, pump the tyre to the pressure printed on its sidewall and check that the bead sits evenly.",
        "Keeping a spare tube and a small pump in your bag will save you a long walk home.",
    ],
    "review": [
        "I have been using this kettle every day for three months, and it has held up better than I expected.",
        "It boils a full litre in just under three minutes, which is about average for its price.",
        "The handle stays cool and the lid opens wide enough to clean the inside without much trouble.",
        "My only complaint is the power light, which is bright enough to light up the kitchen at night.",
        "At around forty pounds it is not the cheapest option, but the build quality justifies the price.",
        "Overall I would recommend it to anyone who wants something simple and reliable.",
    ],
    "local_news": [
        "Residents of {town} packed the village hall on Tuesday evening to discuss plans for a new housing estate.",
        "The developer wants to build {n3} homes on farmland to the east of the village, including a share of affordable housing.",
        "Several speakers raised concerns about traffic on the narrow lanes and the capacity of the primary school.",
        "Others said young families could no longer afford to live in the village and welcomed the proposal.",
        "The parish council will submit its response to the planning authority before the end of the month.",
        "A decision is expected in the autumn.",
    ],
    "garden": [
        "Early autumn is the best time to divide overcrowded perennials, while the soil is still warm.",
        "Lift the clump with a fork, shake off the loose soil and pull it apart into smaller pieces, each with healthy roots.",
        "Replant the divisions at the same depth as before and water them in well.",
        "This is also a good moment to sow green manure on empty beds to protect the soil through the winter.",
        "Collect fallen leaves in a wire cage; in two years they will have rotted into excellent leaf mould.",
        "Do not be in too much of a hurry to tidy up, as seed heads and hollow stems shelter insects over winter.",
    ],
    "budget": [
        "Keeping a simple household budget does not require special software; a notebook works fine.",
        "Write down everything you spend for a month, including small purchases such as coffee and bus fares.",
        "Most people are surprised by how much goes on subscriptions they no longer use.",
        "Set aside a small amount each week for irregular costs such as birthdays and car repairs.",
        "If you have debts, pay off the one with the highest interest rate first while making the minimum payments on the rest.",
        "Review the plan every few months, since prices and circumstances change.",
    ],
}


def short_doc(rng: random.Random, target: int) -> tuple[str, dict]:
    k = rng.randint(1, 2)
    return " ".join(rng.sample(SHORT, k)), {"kind": "short"}


def chat_fragment(rng: random.Random, target: int) -> tuple[str, dict]:
    n = max(6, min(len(CHAT), target // 3))
    lines = rng.sample(CHAT, rng.randint(6, n))
    if rng.random() < 0.5:
        lines = [f"{rng.choice(FIRST).lower()}{rng.randint(1, 99)}: {line}" for line in lines]
    return "\n".join(lines), {"kind": "chat"}


def web_article(rng: random.Random, target: int, furniture: bool = True) -> tuple[str, dict]:
    """A legitimate short web article; with furniture, a nav line, byline and footer may surround it."""
    topic = rng.choice(sorted(ARTICLE))
    f = Filler(rng, site=rng.choice(SITES), cyear=rng.randint(2012, 2024))
    pool = ARTICLE[topic]
    sents = [f(pool[0])] + [f(t) for t in rng.sample(pool[1:], rng.randint(3, len(pool) - 1))]
    cut = rng.randint(2, len(sents) - 1)
    body = " ".join(sents[:cut]) + "\n\n" + " ".join(sents[cut:])
    if not furniture:
        return body, {"kind": "web_article", "topic": topic}
    parts = []
    if rng.random() < 0.6:
        parts.append(f(rng.choice(NAV)))
    parts.append(f(f"Posted by {{person}} on {{month}} {{day}}, {{cyear}}") if rng.random() < 0.5 else "")
    parts.append(body)
    if rng.random() < 0.6:
        parts.append(f(rng.choice(FOOTER)))
    return "\n\n".join(p for p in parts if p), {"kind": "web_article", "topic": topic}


def seo_stuffing(rng: random.Random, target: int) -> tuple[str, dict]:
    kw = rng.choice(["cheap hotels", "best loans", "car insurance quotes", "buy shoes online", "weight loss tips"])
    town = rng.choice(TOWNS)
    phrases = [f"{kw}", f"{kw} {town}", f"best {kw}", f"{kw} near me", f"{kw} 2024", f"top {kw} deals",
               f"compare {kw}", f"{kw} cheap"]
    lines = [" ".join(rng.choice(phrases) for _ in range(rng.randint(4, 9))) for _ in range(rng.randint(4, 10))]
    lines.insert(1, f"Looking for {kw} in {town}? You have come to the right place for {kw}.")
    return "\n".join(lines), {"kind": "seo_spam"}


FINANCE_COMPOSERS: dict[str, Composer] = {
    "earnings_release": earnings_release, "risk_factors": risk_factors,
    "central_bank_minutes": central_bank_minutes, "market_commentary": market_commentary,
}
GENERAL_COMPOSERS: dict[str, Composer] = {
    "encyclopedic": encyclopedic, "fiction": fiction, "travel": travel, "science": science,
    "cooking": cooking, "sport": sport, "history": history,
}


# --------------------------------------------------------------------------------------------------
# General: everyday money (a hard negative for the finance-domain classifier)
# --------------------------------------------------------------------------------------------------

MONEY = {
    "budget": [
        "Keeping a household budget does not require special software; a notebook on the kitchen shelf works fine.",
        "For one month, write down everything you spend, including small things such as coffee, bus fares and school trips.",
        "Most families are surprised by how much goes on subscriptions they have forgotten about.",
        "Set aside a few pounds each week for costs that come round once a year, such as birthdays and the car's service.",
        "If you owe money on more than one card, pay off the one with the highest interest first while keeping up the minimum on the others.",
        "Look at the plan again every few months, because prices and circumstances change.",
        "Shopping with a list, and after a meal rather than before, cuts the weekly food bill more than any coupon.",
        "Children who are given a little pocket money and allowed to make their own mistakes with it tend to learn faster than those who are lectured.",
    ],
    "treasurer": [
        "The treasurer of the {town} allotment society presented the accounts at the annual meeting in the village hall.",
        "Membership fees brought in {amount} over the year, slightly more than last year, because six new plots were let.",
        "The largest expense was the repair of the water pipes, which cost the society {amount2}.",
        "A raffle at the summer show raised a further {amount3}, which will go towards a new shed for shared tools.",
        "Members agreed to keep the annual fee unchanged, although several pointed out that the water bill is likely to rise.",
        "The treasurer thanked the volunteers who collected the fees and reminded everyone that receipts must be handed in by the end of March.",
        "After a short discussion, the accounts were approved and the meeting moved on to the question of the broken gate.",
    ],
    "fundraising": [
        "Volunteers in {town} have spent the past year raising money to replace the leaking roof of the village hall.",
        "The target was {amount}, a large sum for a community of fewer than two thousand people.",
        "Cake sales, a sponsored walk and a quiz night each added a few hundred pounds to the total.",
        "The biggest single gift came from a former resident who had learned to dance in the hall as a teenager.",
        "A grant from the county council covered the last part of the cost, and the builders are due to start in the spring.",
        "The organisers say the campaign brought people together who had lived on the same street for years without speaking.",
    ],
    "saving": [
        "When {a} decided to cycle across the country, the first problem was not fitness but money.",
        "A good touring bicycle cost more than {a} earned in a month, so the plan began with a jar on the windowsill.",
        "Every week a little went into the jar, and every week {a} was tempted to borrow it back.",
        "It took most of a year, a second-hand frame and a great deal of advice from the man at the repair shop.",
        "By the time the bicycle was ready, the journey itself seemed almost easy by comparison.",
        "{a} still keeps the jar, now used for spare inner tubes, as a reminder that small amounts add up.",
    ],
}


def everyday_money(rng: random.Random, target: int) -> tuple[str, dict]:
    topic = rng.choice(sorted(MONEY))
    a, _ = person_with_pronoun(rng)
    cur = rng.choice(["\u00a3", "$", "\u20ac"])
    f = Filler(rng, a=a, amount=f"{cur}{rng.randint(2, 60) * 100:,}", amount2=f"{cur}{rng.randint(3, 30) * 50:,}",
               amount3=f"{cur}{rng.randint(80, 900):,}")
    pool = MONEY[topic]
    k = max(3, min(len(pool) - 2, target // 25))  # never the whole pool, so two pieces on a topic differ
    sents = f.sentences(pool, k, ordered=True).split(". ")
    cut = max(1, len(sents) // 2)
    paras = [". ".join(sents[:cut]) + ".", ". ".join(sents[cut:])]
    paras = [p.replace("..", ".") for p in paras]
    return "\n\n".join(paras), {"genre": "everyday_money", "topic": topic}



# --------------------------------------------------------------------------------------------------
# Borderline texts: plain-language finance and money-heavy general prose, so the classifiers must
# learn more than "numbers and jargon" (used in the training sets)
# --------------------------------------------------------------------------------------------------

BUSINESS_NEWS = [
    "{co} has appointed {person} as its new chief executive, replacing a founder who led the company for two decades.",
    "{co} said it would close its factory in {town} next year, putting about {n3} jobs at risk.",
    "{co} agreed to buy a smaller rival for {bil} in cash, the largest deal in its history.",
    "Shareholders approved the merger at a meeting on {weekday}, although a group of pension funds voted against it.",
    "The company plans to open a new distribution centre near {town}, creating several hundred jobs.",
    "Analysts said the price paid looked high, but the deal would give the company access to new customers in Asia.",
    "The new chief executive said her first priority would be to cut debt and simplify the business.",
    "The shares rose {pct}% in early trading after the announcement.",
    "Unions said they had not been consulted and would seek talks with management.",
    "The company's bonds were downgraded by one notch, reflecting the extra borrowing needed to fund the purchase.",
    "The deal is expected to close in the second half of the year, subject to approval by competition regulators.",
    "Founded in a garage in {town}, the firm now sells its products in more than forty countries.",
]
ECON = [
    "Inflation is the rate at which the general level of prices rises over time, reducing what a unit of money can buy.",
    "Central banks usually try to keep inflation low and stable by raising or lowering short-term interest rates.",
    "When interest rates rise, borrowing becomes more expensive, and households and firms tend to spend less.",
    "A bond is a loan to a government or a company that pays a fixed amount of interest until it is repaid.",
    "Bond prices and yields move in opposite directions: when the price of a bond falls, the return to a new buyer rises.",
    "Shares give their owners a claim on a company's profits, which may be paid out as dividends or reinvested.",
    "Diversification means spreading savings across many investments so that a loss on one matters less.",
    "An exchange rate is simply the price of one currency in terms of another.",
    "A recession is often defined as two consecutive quarters in which the economy shrinks.",
    "Banks lend out most of the deposits they receive, keeping only a fraction in reserve.",
    "The yield curve plots the interest rates on bonds of different maturities, and its shape is watched as a sign of what lies ahead.",
    "Over long periods, the small fees charged by investment funds can make a large difference to the final value of savings.",
]
LOCAL_BUSINESS = [
    "When {a} opened a bakery on the high street in {town}, friends warned that the shop had already failed twice.",
    "The bank agreed to a small loan, and the first months were spent working through the night and sleeping in the back room.",
    "Flour prices rose sharply in the second year, and the price of a loaf went up by twenty pence, which some regulars grumbled about.",
    "The rent on the shop is {rent} a month, more than {a} earned in a month at the previous job.",
    "Customers now queue out of the door on Saturday mornings for the sourdough and the cinnamon buns.",
    "Four people work there full time, and a teenager from the village helps at weekends.",
    "The secret, {a} says, is to bake less than you think you can sell, so that nothing is wasted.",
    "There are plans for a second shop in the next town, although {a} is in no hurry.",
    "The bookshop next door has had a harder time, and its owner has taken a part-time job to keep it open.",
    "Regulars say the bakery has brought life back to a street that had too many empty windows.",
]
CONTENT_FARM = [
    "Choosing the right {thing} is important for everyone.",
    "There are many factors to consider when choosing {thing}.",
    "In this article we will look at everything you need to know about {thing}.",
    "{thing_c} can make a big difference in your life.",
    "Many people ask what the best {thing} is, and the answer depends on your needs.",
    "It is important to do your research before buying {thing}.",
    "There are many different types of {thing} available on the market today.",
    "We hope this guide to {thing} has been helpful for you.",
    "If you have any questions about {thing}, feel free to leave a comment below.",
    "Finding the perfect {thing} does not have to be difficult.",
    "Experts agree that {thing} is one of the most popular choices this year.",
    "In conclusion, {thing} is something that everyone should think about.",
]


def business_news(rng: random.Random, target: int) -> tuple[str, dict]:
    co, _, _ = _company(rng)
    f = Filler(rng, co=co)
    paras: list[str] = []
    fill_to(f, paras, [BUSINESS_NEWS], target, 2, 3)
    return "\n\n".join(paras), {"style": "business_news"}


def econ_explainer(rng: random.Random, target: int) -> tuple[str, dict]:
    f = Filler(rng)
    paras: list[str] = []
    fill_to(f, paras, [ECON, SCI_GENERIC], target, 1, 3)
    return "\n\n".join(paras), {"style": "econ_explainer"}


def local_business(rng: random.Random, target: int) -> tuple[str, dict]:
    a, _ = person_with_pronoun(rng)
    f = Filler(rng, a=a, rent=f"\u00a3{rng.randint(9, 30) * 100:,}")
    pool = LOCAL_BUSINESS
    paras = [f(pool[0])]
    fill_to(f, paras, [pool[1:]], target, 2, 3)
    return "\n\n".join(paras), {"genre": "local_business"}


def content_farm(rng: random.Random, target: int) -> tuple[str, dict]:
    thing = rng.choice(["a mortgage", "home insurance", "a savings account", "running shoes", "a dog bed",
                        "a credit card", "garden furniture", "a web host", "a coffee machine", "a pension plan"])
    f = Filler(rng, thing=thing, thing_c=thing[:1].upper() + thing[1:])
    paras: list[str] = []
    fill_to(f, paras, [CONTENT_FARM], target, 2, 4)
    return "\n\n".join(paras), {"kind": "content_farm"}
