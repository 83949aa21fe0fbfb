"""`make demo`: a synthetic city driven through the real API of a running demo platform.

Merchants open and sell the three card types; consumers buy cards and redeem them, each spend
confirmed by its owner; the platform's clock moves one simulated day at a time. Two shops
misbehave:
* "Golden Gym" sells 30% bonus cards aggressively, stops serving its members, and absconds:
  the regulator declares the default and every open card is refunded from escrow;
* "Quick Wash" draws a surge of complaints from its card holders.
The story's days scale with the run's length (see `Storyline`); a run too short or a city too
small to tell it is refused before anything is done.

At the end it prints the codes, alerts, refunds and ledger size, and checks that every shop got
the code its behaviour deserves (exit status 1 if not).

Run it with `python -m platformrun.simulator --url ...` (`cli`). The city and its two
misbehaving shops are in `city`, the days the story's beats fall on in `story`, and the
HTTP client it drives the platform with in `api`.
"""
