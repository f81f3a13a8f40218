"""One set of units, thresholds and colours for every aigrid dashboard.

Consistency is the point: utilisation is always a 0..1 ratio shown as ``percentunit``, power in kW,
energy in kWh, temperatures in °C with NVIDIA's DCGM dashboard limits (amber 83 °C, red 87 °C), PUE with
two decimals against the 1.4 target (Japan's FY2030 benchmark; the industry average has been 1.55–1.59
since 2020, Uptime Institute 2024). Colours mark *low* utilisation and *low* coverage because those are
what an operator acts on.
"""

from __future__ import annotations

from dashboards.spec import Step, Style, ValueText

GREEN, AMBER, RED, BLUE, GREY = "green", "orange", "red", "blue", "text"

#: Utilisation 0..1: red below 30 %, amber below 60 %.
UTIL = Style("percentunit", decimals=1, min=0, max=1, steps=(Step(RED), Step(AMBER, 0.3), Step(GREEN, 0.6)))
#: A plain share 0..1 without judgement (GPU share of a workload kind, throttled share uses its own).
SHARE = Style("percentunit", decimals=1, min=0, max=1, steps=(Step(GREEN),))
#: Share of time throttled: anything above 1 % deserves a look, above 5 % is a problem.
THROTTLED = Style("percentunit", decimals=1, min=0, steps=(Step(GREEN), Step(AMBER, 0.01), Step(RED, 0.05)))
#: Stranded share of allocated GPU-hours (held, not used): above 10 % amber, above 30 % red.
STRANDED = Style("percentunit", decimals=1, min=0, max=1, steps=(Step(GREEN), Step(AMBER, 0.1), Step(RED, 0.3)))
#: Data coverage 0..1: below 99 % amber, below 90 % red.
COVERAGE = Style("percentunit", decimals=1, min=0, max=1, steps=(Step(RED), Step(AMBER, 0.9), Step(GREEN, 0.99)))

PUE_TARGET = 1.4
#: PUE: green below the 1.4 target, amber from 1.4, red from 1.6 (energy over energy, never a mean of ratios).
PUE = Style("none", decimals=2, min=1, steps=(Step(GREEN), Step(AMBER, PUE_TARGET), Step(RED, 1.6)))
PUE_CATEGORY = Style(
    "none",
    decimals=0,
    steps=(Step(BLUE),),
    mappings=(
        ValueText("1", "Category 1 (UPS output)"),
        ValueText("2", "Category 2 (PDU output)"),
        ValueText("3", "Category 3 (IT input)"),
    ),
)

#: The rolling 12 months' window type as a number (stat panels show numbers): 1 trailing 12 months, 0 interim.
WINDOW_TYPE = Style(
    "none",
    decimals=0,
    steps=(Step(AMBER), Step(GREEN, 1)),
    mappings=(ValueText("1", "12 months"), ValueText("0", "Interim")),
)

TEMP = Style("celsius", decimals=0, min=20, max=100, steps=(Step(GREEN), Step(AMBER, 83), Step(RED, 87)))
POWER_KW = Style("kwatt", decimals=1, min=0, steps=(Step(GREEN),))
ENERGY_KWH = Style("kwatth", decimals=0, min=0, steps=(Step(GREEN),))
GPU_HOURS = Style("suffix: GPU·h", decimals=1, min=0, steps=(Step(GREEN),))
#: Mean number of GPUs over an interval (GPU-hours per hour): bucket-size independent on time series.
GPUS = Style("suffix: GPUs", decimals=1, min=0, steps=(Step(GREEN),))
GPU_COUNT = Style("none", decimals=0, min=0, steps=(Step(GREEN),))
#: Counts of broken things: any is amber, several red.
PROBLEM_COUNT = Style("none", decimals=0, min=0, steps=(Step(GREEN), Step(AMBER, 1), Step(RED, 3)))
#: Costs from the tariff (tenant marts). tariff.yaml names one currency; aigrid's sites price in yen. A
#: deployment priced in another currency sets this unit (e.g. "currencyEUR") and regenerates; the tables
#: show the tariff's currency code beside every cost so a mismatch is visible.
#: Hardware errors (Xid, uncorrectable ECC, lost GPUs): any one is red.
ERROR_COUNT = Style("none", decimals=0, min=0, steps=(Step(GREEN), Step(RED, 1)))
COST = Style("currencyJPY", decimals=0, min=0, steps=(Step(GREEN),))
#: RAN energy efficiency (TS 28.554 EE = data volume / energy).
#: SI-scaled (kbit/J, Mbit/J): radio and GPU efficiencies differ by orders of magnitude.
BIT_PER_J = Style("si:bit/J", decimals=2, min=0, steps=(Step(GREEN),))
DATA_BITS = Style("decbits", decimals=1, min=0, steps=(Step(GREEN),))
THROUGHPUT_KBPS = Style("Kbits", decimals=0, min=0, steps=(Step(GREEN),))
DURATION_S = Style("s", decimals=0, min=0, steps=(Step(GREEN), Step(AMBER, 3600), Step(RED, 3 * 3600)))
TIMESTAMP = Style("dateTimeAsIso")
TEXT = Style("string")
