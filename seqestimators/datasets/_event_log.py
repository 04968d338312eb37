"""Synthetic data sets for trying out and testing seqestimators.

:func:`make_event_log` draws a realistic e-commerce event log (views, carts,
purchases and removals grouped into sessions, over a catalogue with a
popularity long tail) together with per-user targets. One of the targets,
``will_buy``, is built so that it depends only on the *order* of a user's
events: a model that only counts events is at chance level on it, while a
sequence model (or a single "last event" feature) recovers it almost perfectly.

Everything is vectorized with numpy: there is no Python loop per user or per
event, so ten thousand users take a fraction of a second.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data._validation import RANDOM_STATE
from ..utils._compat import validate_params
from ..utils._validation import Int

__all__ = ["make_event_log"]

# Event types, in code order. ``search`` is deliberately not generated: every
# event refers to exactly one item, so ``item_id`` never has missing values.
_EVENT_TYPES = np.array(["view", "cart", "purchase", "remove_from_cart"], dtype=object)
_VIEW, _CART, _PURCHASE, _REMOVE = 0, 1, 2, 3

# Categories: name, share of the catalogue, median item price.
_CATALOGUE = (
    ("electronics", 0.12, 180.0),
    ("books", 0.11, 14.0),
    ("clothing", 0.12, 35.0),
    ("home_garden", 0.09, 45.0),
    ("beauty", 0.07, 18.0),
    ("sports", 0.06, 40.0),
    ("toys", 0.06, 25.0),
    ("grocery", 0.08, 6.0),
    ("automotive", 0.04, 55.0),
    ("health", 0.05, 15.0),
    ("jewelry", 0.03, 120.0),
    ("music", 0.04, 12.0),
    ("office", 0.04, 20.0),
    ("pet_supplies", 0.04, 22.0),
    ("video_games", 0.05, 50.0),
)
_CATEGORIES = np.array([name for name, _, _ in _CATALOGUE], dtype=object)
_CATEGORY_SHARE = np.array([share for _, share, _ in _CATALOGUE])
_CATEGORY_MEDIAN_PRICE = np.array([price for _, _, price in _CATALOGUE])

_N_ITEMS = 1500
_ZIPF_EXPONENT = 1.1
_ZIPF_OFFSET = 5  # Zipf-Mandelbrot: weight of rank r is (r + 5) ** -1.1

# Number of events per user: lognormal, clipped.
_LENGTH_LOG_MEDIAN = np.log(12.0)
_LENGTH_LOG_SIGMA = 1.0
_MIN_EVENTS, _MAX_EVENTS = 2, 500

# Funnel ("block") of one item: 1 + Geometric extra views, then maybe a cart,
# then maybe a purchase or a removal of that cart.
_P_STOP_VIEWING = 0.6
_P_CART = 0.35
_P_PURCHASE_GIVEN_CART = 0.45
_P_REMOVE_GIVEN_CART = 0.15
_P_NEW_SESSION = 0.3  # a block starts a new session with this probability
_P_FAVOURITE_CATEGORY = 0.5

# Time gaps, in seconds.
_IN_SESSION_GAP_LOG_MEDIAN = np.log(40.0)
_IN_SESSION_GAP_LOG_SIGMA = 0.9
_SESSION_GAP_LOG_MEDIAN = np.log(86_400.0)
_SESSION_GAP_LOG_SIGMA = 1.2
_MIN_SESSION_GAP = 1_800.0

_LABEL_NOISE = 0.02

# Next-event transition probabilities from the last observed event type
# (rows: view, cart, purchase, remove_from_cart; columns in the same order).
_NEXT_EVENT_TRANSITIONS = np.array(
    [
        [0.55, 0.30, 0.08, 0.07],
        [0.10, 0.10, 0.65, 0.15],
        [0.70, 0.15, 0.10, 0.05],
        [0.60, 0.25, 0.10, 0.05],
    ]
)
_NEXT_EVENT_HISTORY_WEIGHT = 0.25

_FUTURE_DAYS = 30.0
_SPEND_RATE = 1.3  # future purchase rate relative to the past one


def _as_generator(random_state) -> np.random.Generator:
    """A numpy Generator from None, an int or a (legacy) RandomState."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)


def _segment_last(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Maximum of ``values`` over each non-empty segment beginning at ``starts``."""
    return np.maximum.reduceat(values, starts)


def _sample_items(rng, n, categories, item_cat_sorted, cum_weights, cat_lo, cat_mass):
    """Draw ``n`` items, item ``i`` with weight ``w_i``, within given categories.

    ``categories`` is -1 for a draw from the whole catalogue.
    """
    lo = np.where(categories >= 0, cat_lo[np.maximum(categories, 0)], 0.0)
    mass = np.where(categories >= 0, cat_mass[np.maximum(categories, 0)], 1.0)
    targets = lo + rng.random(n) * mass
    idx = np.searchsorted(cum_weights, targets, side="right")
    return item_cat_sorted[np.minimum(idx, item_cat_sorted.size - 1)]


def _check_start(start) -> pd.Timestamp:
    """``start`` as a timezone-naive Timestamp, or a clear error."""
    not_a_date = (
        f"The 'start' parameter of make_event_log must be a date. Got {start!r} "
        "instead."
    )
    try:
        start_ts = pd.Timestamp(start)
    except ValueError as exc:
        raise ValueError(not_a_date) from exc
    if start_ts is pd.NaT:
        raise ValueError(not_a_date)
    if start_ts.tz is not None:
        raise ValueError(
            "The 'start' parameter of make_event_log must be timezone-naive. "
            f"Got {start!r} instead."
        )
    return start_ts


# The generation steps below share a few plain containers. Each step draws from
# the generator in a fixed order: the output for a seed is pinned by the tests.


@dataclass
class _Catalogue:
    """Items: category and price, and the tables to draw them by popularity."""

    category: np.ndarray  # (n_items,) category code of each item
    price: np.ndarray  # (n_items,) price of each item
    cat_sorted: np.ndarray  # items sorted by category
    cum_weights: np.ndarray  # cumulative popularity in that order
    cat_lo: np.ndarray  # where each category starts in cum_weights
    cat_mass: np.ndarray  # popularity mass of each category

    def sample(self, rng, categories: np.ndarray) -> np.ndarray:
        """One item per entry of ``categories`` (-1: the whole catalogue)."""
        return _sample_items(
            rng,
            categories.size,
            categories,
            self.cat_sorted,
            self.cum_weights,
            self.cat_lo,
            self.cat_mass,
        )


@dataclass
class _Users:
    """Per-user draws; the events of user ``u`` are rows ``starts[u]`` on."""

    n_events: np.ndarray  # (n_users,) number of events
    favourite: np.ndarray  # (n_users,) favourite category
    intent: np.ndarray  # (n_users,) hidden intent behind will_buy and spend

    @property
    def n(self) -> int:
        return self.n_events.size

    @property
    def starts(self) -> np.ndarray:
        return np.cumsum(self.n_events) - self.n_events

    @property
    def last_row(self) -> np.ndarray:
        return self.starts + self.n_events - 1


@dataclass
class _Blocks:
    """Item funnels: views, then maybe a cart, then maybe its outcome."""

    user: np.ndarray  # user of each block
    views: np.ndarray  # number of views
    cart: np.ndarray  # whether a cart follows the views
    outcome: np.ndarray  # _PURCHASE, _REMOVE or -1 after the cart
    length: np.ndarray  # events of the block
    item: np.ndarray  # item of the block
    new_session: np.ndarray  # whether the block starts a session


@dataclass
class _Log:
    """One entry per event, sorted by user then position."""

    block: np.ndarray  # block of each event
    in_block: np.ndarray  # position within its block
    user: np.ndarray  # user code
    pos: np.ndarray  # position within its user
    etype: np.ndarray  # event type code
    item: np.ndarray  # item code
    new_session: np.ndarray  # whether the event starts a session


def _draw_catalogue(rng) -> _Catalogue:
    """Categories, prices and a Zipf-like popularity of the items."""
    n_cat = _CATEGORIES.size
    item_category = rng.choice(n_cat, size=_N_ITEMS, p=_CATEGORY_SHARE)
    item_price = np.round(
        _CATEGORY_MEDIAN_PRICE[item_category] * rng.lognormal(0.0, 0.6, size=_N_ITEMS),
        2,
    )
    item_price = np.maximum(item_price, 0.99)
    popularity_rank = rng.permutation(_N_ITEMS) + 1
    item_weight = (popularity_rank + _ZIPF_OFFSET).astype(float) ** -_ZIPF_EXPONENT
    item_weight /= item_weight.sum()
    # Items sorted by category, with cumulative weights, to draw an item either
    # from the whole catalogue or within one category by inverse-CDF sampling.
    item_cat_sorted = np.argsort(item_category, kind="stable")
    cum_weights = np.cumsum(item_weight[item_cat_sorted])
    cum_weights[-1] = 1.0
    cat_mass = np.bincount(item_category, weights=item_weight, minlength=n_cat)
    cat_lo = np.concatenate([[0.0], np.cumsum(cat_mass)[:-1]])
    return _Catalogue(
        item_category, item_price, item_cat_sorted, cum_weights, cat_lo, cat_mass
    )


def _draw_users(rng, n_users: int) -> _Users:
    """Activity (lognormal event counts), favourite category and intent."""
    n_events = np.clip(
        np.round(rng.lognormal(_LENGTH_LOG_MEDIAN, _LENGTH_LOG_SIGMA, size=n_users)),
        _MIN_EVENTS,
        _MAX_EVENTS,
    ).astype(np.int64)
    favourite = rng.choice(_CATEGORIES.size, size=n_users, p=_CATEGORY_SHARE)
    intent = rng.standard_normal(n_users)
    return _Users(n_events, favourite, intent)


def _draw_blocks(rng, users: _Users, catalogue: _Catalogue) -> _Blocks:
    """As many funnels per user as events (a block has at least one event)."""
    n_blocks = int(users.n_events.sum())
    block_user = np.repeat(np.arange(users.n), users.n_events)
    block_views = rng.geometric(_P_STOP_VIEWING, size=n_blocks)
    block_cart = rng.random(n_blocks) < _P_CART
    u = rng.random(n_blocks)
    block_outcome = np.where(
        ~block_cart,
        -1,
        np.where(
            u < _P_PURCHASE_GIVEN_CART,
            _PURCHASE,
            np.where(u < _P_PURCHASE_GIVEN_CART + _P_REMOVE_GIVEN_CART, _REMOVE, -1),
        ),
    )
    block_len = block_views + block_cart + (block_outcome >= 0)
    block_cat = np.where(
        rng.random(n_blocks) < _P_FAVOURITE_CATEGORY, users.favourite[block_user], -1
    )
    block_item = catalogue.sample(rng, block_cat)
    block_new_session = rng.random(n_blocks) < _P_NEW_SESSION
    block_new_session[users.starts] = True
    return _Blocks(
        block_user,
        block_views,
        block_cart,
        block_outcome,
        block_len,
        block_item,
        block_new_session,
    )


def _expand_blocks(blocks: _Blocks, users: _Users) -> _Log:
    """The blocks' events, cut at each user's number of events."""
    cum_len = np.cumsum(blocks.length)
    user_offset = np.concatenate([[0], cum_len[users.starts[1:] - 1]])
    # position of each block's first event within its user
    block_pos = cum_len - blocks.length - user_offset[blocks.user]
    ev_block = np.repeat(np.arange(blocks.length.size), blocks.length)
    ev_in_block = np.arange(ev_block.size) - np.repeat(
        cum_len - blocks.length, blocks.length
    )
    ev_user = blocks.user[ev_block]
    ev_pos = block_pos[ev_block] + ev_in_block
    keep = ev_pos < users.n_events[ev_user]
    ev_block, ev_in_block, ev_user, ev_pos = (
        ev_block[keep],
        ev_in_block[keep],
        ev_user[keep],
        ev_pos[keep],
    )
    views = blocks.views[ev_block]
    etype = np.where(
        ev_in_block < views,
        _VIEW,
        np.where(
            (ev_in_block == views) & blocks.cart[ev_block],
            _CART,
            blocks.outcome[ev_block],
        ),
    ).astype(np.int64)
    item = blocks.item[ev_block]
    new_session = blocks.new_session[ev_block] & (ev_in_block == 0)
    return _Log(ev_block, ev_in_block, ev_user, ev_pos, etype, item, new_session)


def _ensure_a_cart(rng, log: _Log, users: _Users) -> None:
    """Users without any cart (only views, as funnels are cut as prefixes):
    turn one random later view into a cart of the item viewed just before it."""
    starts, n_events = users.starts, users.n_events
    is_cart = log.etype == _CART
    has_cart = np.add.reduceat(is_cart.astype(np.int64), starts) > 0
    fix_users = np.flatnonzero(~has_cart)
    if fix_users.size:
        k = 1 + np.floor(rng.random(fix_users.size) * (n_events[fix_users] - 1))
        rows = starts[fix_users] + k.astype(np.int64)
        log.etype[rows] = _CART
        log.item[rows] = log.item[rows - 1]


def _open_carts(log: _Log, users: _Users, blocks: _Blocks) -> np.ndarray:
    """Abandoned carts: not followed, in their funnel, by a kept purchase or
    removal of their item."""
    is_cart = log.etype == _CART
    next_pos_kept = log.pos + 1 < users.n_events[log.user]
    closed = (
        is_cart
        & (blocks.outcome[log.block] >= 0)
        & next_pos_kept
        & (log.in_block == blocks.views[log.block])
    )
    return is_cart & ~closed


def _encode_will_buy(rng, log: _Log, users: _Users, blocks: _Blocks):
    """Draw will_buy from the intent and write it into the events' order.

    Returns ``(will_buy_true, will_buy)``: the label before and after the
    label noise.
    """
    starts, n_events, last_row = users.starts, users.n_events, users.last_row
    open_cart = _open_carts(log, users, blocks)
    is_cart = log.etype == _CART
    will_buy_true = rng.random(users.n) < 1.0 / (1.0 + np.exp(-1.5 * users.intent))
    last_is_cart = is_cart[last_row]
    last_open = _segment_last(np.where(open_cart, log.pos, -1), starts)
    last_any_cart = _segment_last(np.where(is_cart, log.pos, -1), starts)
    last_non_cart = _segment_last(np.where(~is_cart, log.pos, -1), starts)
    move_pos = np.where(
        will_buy_true,
        np.where(last_open >= 0, last_open, last_any_cart),
        last_non_cart,
    )
    move = will_buy_true != last_is_cart
    # Move the event at ``move_pos`` to the end, shifting the ones after it one
    # step back: only event attributes move; timestamps and sessions stay.
    user, pos = log.user, log.pos
    src = np.arange(log.etype.size)
    shift = move[user] & (pos >= move_pos[user]) & (pos < n_events[user] - 1)
    src[shift] += 1
    src[last_row[move]] = starts[move] + move_pos[move]
    log.etype = log.etype[src]
    log.item = log.item[src]
    flip = rng.random(users.n) < _LABEL_NOISE
    will_buy = (will_buy_true ^ flip).astype(np.int64)
    return will_buy_true, will_buy


def _squeeze_gaps(gaps, log: _Log, users: _Users, window: float) -> np.ndarray:
    """Squeeze the gaps between sessions of very active users into the window,
    keeping them at least ``_MIN_SESSION_GAP`` long, or, when even that does
    not fit (a window of a day or so), squeeze all their gaps."""
    starts = users.starts
    target_span = 0.97 * window
    between = log.new_session.copy()
    between[starts] = False
    excess = np.where(between, gaps - _MIN_SESSION_GAP, 0.0)
    total_excess = np.add.reduceat(excess, starts)
    floor = np.add.reduceat(gaps - excess, starts)  # in-session gaps + minima
    budget = np.maximum(target_span - floor, 0.0)
    scale = np.minimum(budget / np.maximum(total_excess, 1.0), 1.0)
    gaps = gaps - excess * (1.0 - scale[log.user])
    span = np.add.reduceat(gaps, starts)
    squeeze = np.minimum(target_span / np.maximum(span, 1.0), 1.0)
    return gaps * squeeze[log.user]


def _draw_offsets(rng, log: _Log, users: _Users, window: float) -> np.ndarray:
    """Seconds from the window's start of every event."""
    n_total = log.etype.size
    starts = users.starts
    gaps = np.where(
        log.new_session,
        np.maximum(
            rng.lognormal(_SESSION_GAP_LOG_MEDIAN, _SESSION_GAP_LOG_SIGMA, n_total),
            _MIN_SESSION_GAP,
        ),
        1.0
        + rng.lognormal(_IN_SESSION_GAP_LOG_MEDIAN, _IN_SESSION_GAP_LOG_SIGMA, n_total),
    )
    gaps[starts] = 0.0
    gaps = _squeeze_gaps(gaps, log, users, window)
    cum_gaps = np.cumsum(gaps)
    rel = cum_gaps - np.repeat(cum_gaps[starts], users.n_events)
    span = rel[users.last_row]
    first_time = rng.random(users.n) * np.maximum(window - span - 1.0, 0.0)
    return first_time[log.user] + rel


def _type_counts(log: _Log, users: _Users) -> np.ndarray:
    """(n_users, 4) number of events of each type per user."""
    return np.bincount(log.user * 4 + log.etype, minlength=4 * users.n).reshape(
        users.n, 4
    )


def _draw_next_event(rng, log: _Log, users: _Users) -> np.ndarray:
    """Type code of each user's next event: a transition table on the last
    event's type mixed with the user's own mix of types."""
    freq = _type_counts(log, users) / users.n_events[:, None]
    last_type = log.etype[users.last_row]
    w = _NEXT_EVENT_HISTORY_WEIGHT
    probs = (1.0 - w) * _NEXT_EVENT_TRANSITIONS[last_type] + w * freq
    cum_probs = np.cumsum(probs, axis=1)
    next_code = (rng.random(users.n)[:, None] * cum_probs[:, -1:] > cum_probs).sum(
        axis=1
    )
    return np.minimum(next_code, 3)


def _draw_future_spend(
    rng, log: _Log, users: _Users, price, recency_days, will_buy_true, days
) -> np.ndarray:
    """Spend in the 30 days after the window, rounded to cents.

    A Poisson number of purchases at the user's past purchase rate, decaying
    with the time since the last visit, at about the user's usual price;
    users who will buy also buy the item of their trailing cart.
    """
    n_users, last_row = users.n, users.last_row
    is_purchase = log.etype == _PURCHASE
    past_spend = np.bincount(
        log.user, weights=np.where(is_purchase, price, 0.0), minlength=n_users
    )
    n_purchases = _type_counts(log, users)[:, _PURCHASE]
    trailing_cart_price = np.where(log.etype[last_row] == _CART, price[last_row], 0.0)
    mean_price = np.where(
        n_purchases > 0,
        past_spend / np.maximum(n_purchases, 1.0),
        np.bincount(log.user, weights=price, minlength=n_users) / users.n_events,
    )
    lam = (
        _SPEND_RATE
        * (n_purchases + 0.2)
        * (_FUTURE_DAYS / float(days))
        * np.exp(-recency_days / 60.0 + 0.15 * users.intent)
    )
    n_future = rng.poisson(lam)
    sigma = 0.5 / np.sqrt(np.maximum(n_future, 1))
    amount = n_future * mean_price * rng.lognormal(-0.5 * sigma**2, sigma)
    amount = amount + will_buy_true * trailing_cart_price
    return np.round(amount, 2)


def _events_frame(log: _Log, catalogue: _Catalogue, start_ts, offset_s):
    """The event log: times rounded to milliseconds, codes turned to labels."""
    category = _CATEGORIES[catalogue.category[log.item]]
    offset_ns = np.round(offset_s * 1e3).astype(np.int64) * 1_000_000
    timestamp = start_ts.as_unit("ns").to_datetime64() + offset_ns.astype(
        "timedelta64[ns]"
    )
    return pd.DataFrame(
        {
            "user_id": log.user.astype(np.int64) + 1,
            "timestamp": timestamp,
            "session_id": np.cumsum(log.new_session).astype(np.int64),
            "event_type": pd.array(_EVENT_TYPES[log.etype], dtype="str"),
            "item_id": (log.item + 1).astype(np.int64),
            "category": pd.array(category, dtype="str"),
            "price": catalogue.price[log.item].astype(np.float64),
        }
    )


def _targets_frame(will_buy, next_code, future_spend) -> pd.DataFrame:
    user_ids = np.arange(1, will_buy.size + 1, dtype=np.int64)
    return pd.DataFrame(
        {
            "will_buy": will_buy,
            "next_event": pd.array(_EVENT_TYPES[next_code], dtype="str"),
            "future_spend": future_spend.astype(np.float64),
        },
        index=pd.Index(user_ids, name="user_id"),
    )


@validate_params(
    {
        "n_users": [Int(1)],
        "random_state": [*RANDOM_STATE, np.random.Generator],
        "start": [str, datetime.date, np.datetime64],
        "days": [Int(1)],
    },
    prefer_skip_nested_validation=True,
)
def make_event_log(
    n_users: int = 2000,
    *,
    random_state: int | None = None,
    start: str = "2024-01-01",
    days: int = 90,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a synthetic e-commerce event log and per-user targets.

    Each user browses a fixed catalogue of 1,500 items in 15 categories over
    ``days`` days. Events come in sessions (separated by hours to days), and
    within a session follow item funnels: one or more ``view`` of an item, then
    possibly a ``cart`` of it, then possibly a ``purchase`` or a
    ``remove_from_cart`` of it. Item popularity has a Zipf-like long tail and
    each user leans towards a favourite category. Activity is long-tailed too:
    the number of events per user is lognormal (median about 12, 90th
    percentile about 40), clipped to [2, 500].

    Parameters
    ----------
    n_users : int, default=2000
        Number of users, at least 1.
    random_state : int, RandomState instance, Generator or None, default=None
        Seed of the generator. Pass an int for reproducible output across
        calls; None draws fresh data on every call.
    start : str or datetime-like, default="2024-01-01"
        Start of the observation window (timezone-naive).
    days : int, default=90
        Length of the observation window in days, at least 1. All events lie in
        ``[start, start + days)``.

    Returns
    -------
    events : DataFrame
        One row per event, sorted by ``user_id`` then ``timestamp``, with a
        default RangeIndex and the columns:

        - ``user_id`` (int64): user identifier, ``1 .. n_users``.
        - ``timestamp`` (datetime64[ns]): time of the event, strictly
          increasing within a user.
        - ``session_id`` (int64): session identifier, unique across users and
          increasing with ``user_id`` and time. Events of a session are seconds
          to minutes apart; sessions are at least half an hour (typically about
          a day) apart.
        - ``event_type`` (str): one of ``"view"``, ``"cart"``, ``"purchase"``,
          ``"remove_from_cart"`` (about 75 %, 17 %, 6 % and 2 % of events).
        - ``item_id`` (int64): item identifier, ``1 .. 1500``, with a Zipf-like
          popularity long tail.
        - ``category`` (str): category of the item (for example
          ``"electronics"`` or ``"books"``; 15 in all); fixed per item.
        - ``price`` (float64): price of the item, lognormal around a
          category-specific median, rounded to cents; fixed per item.

    targets : DataFrame
        One row per user, indexed by ``user_id`` (sorted; the same users as in
        ``events``), with the columns:

        - ``will_buy`` (int64, 0 or 1): whether the user buys in their next
          session. Balanced (about 50 % positives) and, by construction,
          independent of how many events of each type the user has: it is
          encoded only in the order of the events (see Notes).
        - ``next_event`` (str): type of the user's next, unobserved event after
          the window; one of the four event types. It is drawn from a mixture
          of a transition table on the type of the user's last observed event
          (75 %; after a ``cart`` most likely a ``purchase``, otherwise most
          likely a ``view``) and the user's own mix of event types (25 %).
        - ``future_spend`` (float64, >= 0): amount the user spends in the 30
          days after the window, rounded to cents; zero for about 40 % of the
          users. It is a Poisson number of purchases at the user's past
          purchase rate (decaying with the time since their last event, and
          nudged by the hidden intent) at about the user's average purchase
          price, plus, for users who will buy, the price of the item in their
          trailing cart. Past spend alone explains part of it (linear R2
          about 0.2-0.3); past spend, the last event and its price, and
          recency together explain much more (R2 about 0.6).

    Notes
    -----
    Every user has at least one ``cart`` event and at least one event that is
    not a cart, like a log filtered to users who added something to a cart.

    ``will_buy`` is built in three steps. First, the whole multiset of each
    user's events (types, items, sessions, timestamps) is generated. Second, a
    label is drawn from a hidden "intent" variable that is independent of that
    multiset. Third, the events are *rearranged* without changing the
    multiset: for a positive user whose last event is not a cart, the most
    recent abandoned cart (a cart not followed by a purchase or removal of its
    item; failing that, the most recent cart) is moved to the end of the
    sequence, the events after it moving one step back; for a negative user
    whose last event is a cart, the most recent non-cart event is moved to the
    end in the same way. Only event attributes (type, item, category, price)
    move; timestamps and sessions stay in place. After this step, "the user's
    last event is a ``cart``" (an abandoned cart: the user comes back to buy
    it) holds exactly for positive users, and then 2 % of the labels are
    flipped. So bag-of-events features (counts per event type, item or
    category, sequence length, number of sessions, time span) carry no
    information on ``will_buy``; the pattern sits at the very end of the
    sequence (it survives keeping only the last events), and a sequence model
    learns it easily. A moved cart can end up after the purchase of its item,
    so "purchases follow a cart of the same item" holds for most (about 95 %),
    not all, purchases.

    ``search`` events are not generated, so every event has an item.

    Examples
    --------
    >>> from seqestimators.datasets import make_event_log
    >>> events, targets = make_event_log(n_users=100, random_state=0)
    >>> list(events.columns)
    ['user_id', 'timestamp', 'session_id', 'event_type', 'item_id', 'category', 'price']
    >>> list(targets.columns)
    ['will_buy', 'next_event', 'future_spend']
    >>> targets.shape
    (100, 3)
    >>> events["user_id"].nunique()
    100
    """
    rng = _as_generator(random_state)
    start_ts = _check_start(start)
    window = float(days) * 86_400.0
    catalogue = _draw_catalogue(rng)
    users = _draw_users(rng, n_users)
    blocks = _draw_blocks(rng, users, catalogue)
    log = _expand_blocks(blocks, users)
    _ensure_a_cart(rng, log, users)
    will_buy_true, will_buy = _encode_will_buy(rng, log, users, blocks)
    offset_s = _draw_offsets(rng, log, users, window)
    next_code = _draw_next_event(rng, log, users)
    recency_days = (window - offset_s[users.last_row]) / 86_400.0
    price = catalogue.price[log.item]
    future_spend = _draw_future_spend(
        rng, log, users, price, recency_days, will_buy_true, days
    )
    events = _events_frame(log, catalogue, start_ts, offset_s)
    return events, _targets_frame(will_buy, next_code, future_spend)
