"""Regenerates dateutil_golden.tsv: what python-dateutil's
parse(s, dayfirst=True) returns for a corpus of inputs, on a host whose local
zone is UTC, with "today" pinned to 2024-02-29 and the current year to 2024.

Usage (from this directory, with python-dateutil installed and TZ=UTC):

    TZ=UTC python3 dateutil_golden.py > dateutil_golden.tsv

Each line is `input<TAB>result`, the input with backslash escapes for tabs,
newlines and backslashes; result is `invalid`, `error` (parsed, but Python
itself fails later: not produced here) or
`YYYY-MM-DDTHH:MM:SS.ffffff <zone>` with zone `naive`, `utc` or
`fixed:<name or ->:<offset seconds>`.
"""

import datetime
import random
import sys
import warnings

from dateutil import parser, tz

warnings.simplefilter("ignore")

DEFAULT = datetime.datetime(2024, 2, 29)


class Info(parser.parserinfo):
    def __init__(self):
        super().__init__()
        self._year = 2024
        self._century = 2000


INFO = Info()


def result(s):
    try:
        dt = parser.parse(s, parserinfo=INFO, dayfirst=True, default=DEFAULT)
    except Exception:
        return "invalid"
    stamp = "%04d-%02d-%02dT%02d:%02d:%02d.%06d" % (
        dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond)
    if dt.tzinfo is None:
        zone = "naive"
    elif dt.tzinfo is tz.UTC or isinstance(dt.tzinfo, tz.tzlocal):
        zone = "utc"
    else:
        name = dt.tzinfo._name if isinstance(dt.tzinfo, tz.tzoffset) else None
        offset = dt.tzinfo._offset.total_seconds()
        zone = "fixed:%s:%d" % (name or "-", offset)
    return "%s %s" % (stamp, zone)


def escape(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


HAND = """10/08/2021
05/08/2021
10/10/2021
10/12/2021
abcd
2021-10-10
2021-10-05
2021-10-25
2021/10/25
20211010
20211005
20211025
211010
10.10.2021
10-10-2021
10 Oct 2021
Oct 10 2021
October 10, 2021
10th of October 2021
Sunday, 10 Oct 2021
Sun 10 Oct 2021
10/10/2021 13:45
10/10/2021 1:45 PM
10/10/2021 1:45pm
10/10/2021 12 am
10/10/2021 12am
2021-10-10T13:45:30.5
2021-10-10T13:45:30,5
2021-10-10T13:45:00Z
2021-10-10T13:45:00z
2021-10-10 13:45:00 +02:00
2021-10-10 13:45:00 -0300
2021-10-10 13:45:00 -03
2021-10-10 13:45:00 UTC
2021-10-10 13:45:00 GMT
2021-10-10 13:45:00 GMT+3
2021-10-10 13:45:00 BRST+3
2021-10-10 13:45:00 -0300 (BRST)
2021-10-10 13:45:00 EST
2021-10-10 13:45:00 CEST
2021-10-10 13:45:00 ABCDEF
10/10/21
10/10/75
10/10/74
10/10/0021
Oct 2021
10/2021
2021
10
Oct
Monday
Jan of 01
Jan of 2021
Oct-10-2021
10-Oct-2021
10/Oct/2021
Oct/10
32/10/2021
10/13/2021
13/10/2021
29/02/2021
29/02/2024
10/10/2021 25:00
10/10/2021 24:00
10/10/2021 23:60
10/10/2021 23:59:60
13h45
13h
13h45m
13 h 45 m
10/10/2021 13h45
1.5h
12h30m15.25s
10:30.5
2021-10-10T13
2021-10-10T1345
20211010T1345
202110101345
20211010134530
10/10/2021 2021
1
0
00
001
100
1.5
nan
inf
10,10,2021
10/10/2021 10/10
10/10/
10/
10 10 2021
10 10
Oct Oct
2021 2022
 
-
at
10 Oct 2021 a
10 Oct 2021 13 a
10 Oct 2021 13:00 pm
10 Oct 2021 0 am
99999
10 Oct 99999
Feb 2023
Feb
Feb 30
30 Feb
31 Apr
2021-02
02-2021
Sept 10 2021
sep 10 2021
SEP 10 2021
10 sept. 2021
10.Oct.2021
Oct.10.2021
10 October, 2021 at 1:45 pm
10 Oct '21
10 Oct 2021 ad
10 Oct 2021;
 10/10/2021 
10/10/2021\t13:45
2021-13-01
2021-12-13
2021-31-12
99-01-01
01-99
99-01
01-13
13-01
Apr-2003-25
01-Jan-01
01-99-Jan
99-01-Jan
10/10/2021 13:45:30.123456789
13:45
13:45:30
1:45 PM
12:00 AM
12:00 PM
10/10/2021 13:45 +9999
10/10/2021 13:45 +25:00
10/10/2021 13:45 +5
10/10/2021 13:45 +123
Tue
Tues
Thurs
10/10/2021 Z
10 oct 2021 13:45 utc
10 oct 2021 13:45 Utc
10/10/2021 13:45 (BRST)
10:00 - 0300
10 Oct, 2021
Oct 10th, 2021
10th Oct 2021
Oct 10, 2021 1:45:00 PM
2021-10-10 13:45:00.000+00:00
""".split("\n")


def generated(rng):
    months = ["Jan", "February", "mar", "APR", "May", "june", "Jul", "Aug",
              "Sep", "Sept", "October", "nov", "Dec"]
    out = []
    for _ in range(700):
        d = datetime.date(1990, 1, 1) + datetime.timedelta(days=rng.randrange(20000))
        fmt = rng.choice([
            "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d",
            "%Y%m%d", "%d %b %Y", "%b %d %Y", "%d %B %Y", "%B %d, %Y",
            "%d/%m/%y", "%y-%m-%d", "%m/%d/%Y", "%A, %d %B %Y", "%a %d %b %Y",
            "%d %b", "%b %Y", "%d/%m", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M",
            "%d/%m/%Y %I:%M %p", "%Y-%m-%d %H:%M:%S%z", "%Y%m%d%H%M",
        ])
        dt = datetime.datetime.combine(d, datetime.time(
            rng.randrange(24), rng.randrange(60), rng.randrange(60)))
        if "%z" in fmt:
            dt = dt.replace(tzinfo=datetime.timezone(
                datetime.timedelta(minutes=rng.randrange(-720, 721, 15))))
        out.append(dt.strftime(fmt))
    pieces = ["10", "8", "2021", "21", "1", "31", "13", "0", "100", "20211010",
              "1345", "211010", "1.5", "10.5", "/", "-", ".", ",", ":", " ",
              "  ", "T", "Z", "z", "+", "h", "m", "s", "am", "PM", "a", "of",
              "at", "th", "UTC", "GMT", "EST", "(", ")", "'", "Mon", "x", "é",
              "\t", "60", "24", "12", "hours", "minutes", "sec", "seconds",
              "1,5", "10,50", "10.10", "T10", "-0300", "+02:00", "\u00a0",
              "\x1c", "10.a", "Oct.", "a.m.", "p.m.", "2.5.2021", "Sunday",
              "st", "(BRST)", ";", "99", "1999", "0.5", "123456", "123456.78",
              "1234567", "12345678901234", "00", "29", "30"] + months
    for _ in range(2500):
        n = rng.randrange(1, 8)
        out.append("".join(rng.choice(pieces) for _ in range(n)))
    return out


def main():
    rng = random.Random(20211010)
    seen = set()
    for s in HAND + generated(rng):
        s = s.replace("\\t", "\t")
        if s in seen or s == "":
            continue
        seen.add(s)
        sys.stdout.write("%s\t%s\n" % (escape(s), result(s)))


if __name__ == "__main__":
    main()
