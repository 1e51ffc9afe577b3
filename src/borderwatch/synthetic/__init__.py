"""Synthetic port traffic in the KCS layout, with planted, documented fraud patterns and their ground truth.

    from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic
    traffic = generate_traffic(GeneratorConfig(declarations=10_000, seed=7, drift_at=0.5, corrupt=5))
    write_traffic(traffic, Path("traffic.csv"))      # + traffic.truth.json
    history, week = traffic.split(date(2024, 11, 1))  # e.g. training history and the period to score
    write_traffic(week.without_outcomes().with_corrupt_lines(5, seed=1), Path("week.csv"))

The file has the 22 KCS columns with their conventions (8-digit Declaration ID, 7-character party ids,
6-character courier ids, HS6 codes, ISO 3166 alpha-2 countries, Item Price in KRW, Net Mass in kg, Tax Rate
in percent, Fraud 0/1, Critical Fraud 0/1/2) followed by the agreed optional columns (party names, addresses
and countries, transit countries, goods description, currency = KRW, ISO 6346 container ids).

Background traffic: volume seasonality (Monday peak, quiet weekends, Korean public holidays including the
lunar ones, busy January, quiet February); Zipf-like activity of importers, brokers, sellers and couriers;
mostly long-lived traders who keep their HS codes, sourcing country, broker and main seller, plus traders
entering or leaving during the period; unit values around a per-HS6 norm times an origin price level.
Background fraud (about 8-9 % of declarations) depends on latent risky importers and brokers, new traders,
courier shipments and the goods; a third of those frauds are also moderately undervalued.

Planted patterns (each in ``truth["patterns"][name]`` with its parameters, party ids and ``lrns``; the
per-declaration truth, kept even when the outcomes are withheld, is ``GeneratedTraffic.labels``: lrn,
pattern, fraud, critical_fraud). Together with the background the fraud rate is about
13-16 %:

1. ``undervaluation`` — 3 % of declarations: a small group of importers declares HS 610910, 640299 and 420292
   from CN at 8-30 % of the HS6 x origin norm unit value. Fraud probability 0.9.
2. ``false_origin`` — 2 %: HS 731815, 732690, 760711 of CN origin declared as VN, MY or TH with an FTA
   tax type and zero duty, while the route shows CN (departure CN, or departure HK with transit CN).
   Fraud probability 0.85.
3. ``importer_ring`` — 1.2 %: six importer ids (sharing a 5-character prefix) that are name variants of one
   company at one address, used one after another over the period, all declared by one broker who declares
   for nobody else; values 40-70 % below norm. Fraud probability 0.8. Entity resolution should merge the six.
4. ``sanctioned_party`` — 0.3 %: four sellers trading under near-variants of real OFAC SDN / UN entries
   (``tables.SANCTIONED``), on dual-use goods. Fraud probability 0.9, of which 70 % critical (2).
5. ``drift`` — only with ``drift_at``: an established, clean importer group ships HS 850760 from MY all along
   (0.6 % of declarations before the drift date, fraud probability 0.02); from the drift date on they are 3 %
   of declarations with fraud probability 0.9, while values and route stay normal, so only inspection labels
   reveal it.

``corrupt=K`` adds K invalid lines to the written file (not to the frame), cycling through bad HS code, bad
country, negative mass, broken quoting and truncated line; ``truth["corrupt_lines"]`` gives each line number,
Declaration ID, kind and field. The generator reads nothing from disk; it is deterministic for a config.

For officer training, ``training_traffic`` (``synthetic.tactics``) builds a history and a queue with chosen
tactics planted at an exact size (the three above, plus misclassification, forged or re-used certificates,
a sanctioned party behind a front company, a new trader on an unusual route), each with its indicators.
"""

from borderwatch.synthetic.crossings import CrossingConfig, CrossingWorld, generate_crossings, write_crossings
from borderwatch.synthetic.generator import PATTERNS, generate_traffic
from borderwatch.synthetic.tactics import (
    CERTIFICATE_COLUMNS,
    DUAL_USE_HS,
    FTA_TAX_TYPES,
    HS_HEADINGS,
    TACTIC_INDICATORS,
    TACTICS,
    WATCHLIST,
    ListedParty,
    TrainingTraffic,
    training_traffic,
)
from borderwatch.synthetic.traffic import (
    COLUMNS,
    CORRUPT_KINDS,
    EXTRA_COLUMNS,
    KCS_LAYOUT,
    CorruptLine,
    GeneratedTraffic,
    GeneratorConfig,
    GeneratorError,
)
from borderwatch.synthetic.writer import truth_path, write_traffic

__all__ = [
    "CERTIFICATE_COLUMNS",
    "COLUMNS",
    "CORRUPT_KINDS",
    "DUAL_USE_HS",
    "EXTRA_COLUMNS",
    "FTA_TAX_TYPES",
    "HS_HEADINGS",
    "KCS_LAYOUT",
    "PATTERNS",
    "TACTICS",
    "TACTIC_INDICATORS",
    "WATCHLIST",
    "CorruptLine",
    "CrossingConfig",
    "CrossingWorld",
    "GeneratedTraffic",
    "GeneratorConfig",
    "GeneratorError",
    "ListedParty",
    "TrainingTraffic",
    "generate_crossings",
    "generate_traffic",
    "training_traffic",
    "truth_path",
    "write_crossings",
    "write_traffic",
]
