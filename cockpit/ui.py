"""Shared Streamlit pieces: the store handle, language, the one filter sidebar, grids and downloads.

Every page uses these instead of its own copies. No SQL and no formulas here: those live in
ops_core; this module only turns ops_core results into widgets.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import pickle
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

# The reader's language and the navigation links live in the light part of the frame (app.py draws
# them before this module's imports); pages read them through here as ui.tr, ui.language.
from cockpit import frame
from cockpit.frame import LANG_KEY, configured_url, language, page_links, run_through_app, tr  # noqa: F401
from ops_core import config, exports, i18n, overview, present, settings, writes
from ops_core.db import versions
from ops_core.db.engine import check_connection, check_files, make_engine, transaction
from ops_core.db.schema import schema_state, upgrade
from ops_core.errors import OpsError, PermissionDenied, Refused, StaleVersion, StoreUnavailable, ValidationError, first_line
from ops_core.filters import SEGMENT_FIELDS, Filters
from ops_core.i18n import DEFAULT_LANGUAGE, LANGUAGES, TEXT, label, say, t
from ops_core.readers import UPLOAD_SUFFIXES, FileProblem
from ops_core.vocab import Role

LANG_KEEP_KEY = "ops_lang_keep"  # the language to keep over st.switch_page (see sidebar)
FILTERS_KEY = "ops_filters"   # the one session key that mirrors the URL's filter parameters
STORE_CHECKED_KEY = "ops_store_checked"
DEMO_CHECKED_KEY = "ops_demo_checked"
STORE_ERRORS = (StoreUnavailable, OperationalError, DBAPIError)
UPGRADED_KEY = "ops_schema_upgraded"  # this session brought an older schema up to date once


def today() -> dt.date:
    return dt.date.today()


# --- store -------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return make_engine(url)


@st.cache_resource(show_spinner=False)
def _migrated(url: str) -> bool:
    """Apply migrations once per process (an exception is not cached, so a retry tries again)."""
    upgrade(_engine(url))
    return True


def engine() -> Engine:
    """The store, migrated and reachable; raises StoreUnavailable otherwise.

    The round trip to the server is made once per session (and on Retry), not on every rerun: a
    slider move must not query the database. A server lost later surfaces as the first failing
    query, which app.py turns into the same clear page.
    """
    url = configured_url()
    store = _engine(url)
    check_files(store)
    if not st.session_state.get(STORE_CHECKED_KEY):
        check_connection(store)
        st.session_state[STORE_CHECKED_KEY] = True
    _migrated(url)
    # The company's lists (industries, regions, product lines) in force for this page run: read once
    # per data version, so a value an admin added shows its label in every table, filter and file.
    from ops_core import company_lists

    i18n.put_in_force(cached(company_lists.read_all, store))
    return store


def store_down_page(exc: BaseException) -> None:
    """A clear page instead of a traceback; the retry button reruns and reconnects.

    A store that answers but whose schema is not this code's is said as such: one older than the
    code (an older copy put back under a running server) is upgraded and the page drawn again, once
    per session; one made by newer code is named, never called unreachable."""
    lang = language()
    state = _schema_state()
    if state == "behind" and not st.session_state.get(UPGRADED_KEY):
        st.session_state[UPGRADED_KEY] = True
        _migrated.clear()
        clear_caches()
        st.rerun()
    newer = state == "ahead"
    st.title(t("store.newer.title" if newer else "store.down.title", lang))
    st.error(t("store.newer.body" if newer else "store.down.body", lang))
    st.markdown(f"**{t('store.down.url', lang)}:** `{config.redact_url(configured_url())}`")
    st.markdown(f"**{t('store.down.reason', lang)}:** {first_line(exc)}")
    st.session_state[STORE_CHECKED_KEY] = False  # the next run asks the server again
    if st.button(t("store.down.retry", lang), type="primary"):
        clear_caches()
        st.rerun()


def _schema_state() -> str | None:
    """The store's schema against this code (``ops_core.db.schema.schema_state``); None if the store
    cannot even be asked."""
    try:
        return schema_state(_engine(configured_url()))
    except Exception:  # the page then says the store cannot be reached, with its first error
        return None


def demo_step(message: str, lang: str) -> str:
    """A step of the demo build in the reader's language. ops_core.demo reports each step by the
    English name of the table it fills (``account users``) or of a phase (``building indexes``)."""
    usage = re.fullmatch(r"usage of customers (\d+)-(\d+)", message.strip())
    if usage:
        return t("demo.step.usage", lang, first=int(usage.group(1)), last=int(usage.group(2)))
    key = message.strip().lower().replace(" ", "_")
    key = {"faq": "faq_entries"}.get(key, key)
    for text_key in (f"table.{key}", f"demo.step.{key}"):
        if text_key in TEXT:
            return t(text_key, lang)
    return ""


# --- language and filters ----------------------------------------------------------------------


SHARED_PARAMS = ("from", "to", "lang", *(spec.name for spec in SEGMENT_FIELDS))


def _sync_url(filters: Filters, lang: str) -> None:
    """Keep the address bar a shareable link of this view; a page's own keys are left to the page."""
    current = st.query_params.to_dict()
    wanted = {k: v for k, v in current.items() if k not in SHARED_PARAMS} | filters.to_query_params() | {"lang": lang}
    if current != wanted:
        st.query_params.from_dict(wanted)


def language_key(key: str) -> str:
    """The key of a widget whose options are shown in the reader's language: one widget per language.

    Streamlit keeps a choice by the text it showed, so after a change of language the choice would
    no longer be found among the options (seen: the grain picker stayed "Month" in Chinese). A widget
    of its own per language starts from the page's state (the filters, the address bar) instead.
    """
    lang = language()
    return key if lang == DEFAULT_LANGUAGE else f"{key}.{lang}"


KEPT_CHOICE = ".kept"  # a picker's key + this: the value (not the text) it last held; goes with the key


def choice(widget: Callable[..., Any], label: str, options: Sequence[Any], *, key: str,
           format_func: Callable[[Any], str] = str, default: Any = None, **kwargs: Any) -> Any:
    """A picker whose options read in the reader's language and whose choice outlives a change of language.

    ``widget`` is ``st.selectbox``, ``st.radio``, ``st.segmented_control`` or ``st.multiselect`` (or a
    column's). Streamlit keeps a choice by the text it showed, so the picker is one widget per
    language (``language_key``); the choice is kept by value beside ``key`` and a new widget starts
    from it, else from ``default`` (a list for several), through the session state (``start_widget``)
    so the browser shows it too. Deleting the keys that start with ``key`` forgets the choice."""
    options = list(options)
    kept_key = key + KEPT_CHOICE
    widget_key = language_key(key)
    several = getattr(widget, "__name__", "") == "multiselect" or kwargs.get("selection_mode") == "multi"
    kept = st.session_state.get(kept_key, default)
    if several:
        start_widget(widget_key, [v for v in (kept or []) if v in options])
    elif kept in options and kept is not None:  # a None option (every segment, a new entry) is the first,
        start_widget(widget_key, kept)          # shown by its words: a widget started at None shows nothing
    kind = getattr(widget, "__name__", "")  # never Streamlit's English "Choose an option"
    if kind in ("selectbox", "multiselect"):
        kwargs.setdefault("placeholder", tr("filters.choose" if kind == "multiselect" else "choose.one"))
    if several and kind == "multiselect":
        kwargs.setdefault("select_all", False)  # Streamlit's bulk action reads "Select all" in every language
    # The texts of this run's language, fixed now (a format_func that reads the language when called
    # would answer in another one outside the run).
    texts = [format_func(v) for v in options]
    picked = widget(label, options, format_func=lambda v: texts[options.index(v)] if v in options else format_func(v),
                    key=widget_key, **kwargs)
    st.session_state[kept_key] = list(picked or []) if several else picked
    return picked


def expander(label: str, key: str) -> Any:
    """An expander that reruns the page when opened or closed (its content is drawn only while open) and
    stays open across a change of language: Streamlit starts an expander worded differently closed, so
    it is one per language (``language_key``), started from the state last seen."""
    kept_key = key + KEPT_CHOICE
    widget_key = language_key(key)
    if kept_key in st.session_state:
        start_widget(widget_key, st.session_state[kept_key])
    box = st.expander(label, key=widget_key, on_change="rerun")
    st.session_state[kept_key] = bool(box.open)
    return box


def sidebar(store: Engine) -> Filters:
    """The one shared sidebar: language, date range and segment filters, mirrored in the URL."""
    params = st.query_params.to_dict()
    if FILTERS_KEY not in st.session_state:
        st.session_state[FILTERS_KEY] = Filters.from_query_params(params, today())
        st.session_state[LANG_KEY] = params.get("lang") if params.get("lang") in LANGUAGES else DEFAULT_LANGUAGE
    elif "from" in params and Filters.from_query_params(params, today()) != st.session_state[FILTERS_KEY]:
        # A link pasted into the address bar wins over what this session had.
        st.session_state[FILTERS_KEY] = Filters.from_query_params(params, today())
    if LANG_KEEP_KEY in st.session_state:  # a switch of page from code: the language widget starts anew there
        st.session_state[LANG_KEY] = st.session_state.pop(LANG_KEEP_KEY)
    current: Filters = st.session_state[FILTERS_KEY]

    with st.sidebar:
        lang = st.selectbox(t("app.language"), list(LANGUAGES), format_func=LANGUAGES.get, key=LANG_KEY)
        st.header(t("filters.header", lang))
        picked = st.date_input(t("filters.date_range", lang), value=(current.date_from, current.date_to),
                               key="ops_filter_dates")
        start, end = (picked if isinstance(picked, tuple) and len(picked) == 2 else (current.date_from, current.date_to))
        chosen: dict[str, tuple] = {}
        csm_names = cached(overview.csm_names, store)
        for spec in SEGMENT_FIELDS:
            if spec.vocabulary is not None:
                options: list[Any] = list(i18n.vocabulary_values(spec.vocabulary))  # industries, regions: the company's lists
                fmt: Callable[[Any], str] = lambda v, e=spec.vocabulary: label(e, v, lang)  # noqa: E731
            else:
                options = list(csm_names)
                fmt = lambda v: csm_names.get(v, str(v))  # noqa: E731
            default = [v for v in getattr(current, spec.name) if v in options]
            chosen[spec.name] = tuple(st.multiselect(t(spec.label_key, lang), options, default=default,
                                                     format_func=fmt, key=language_key(f"ops_filter_{spec.name}"),
                                                     placeholder=t("filters.choose", lang), select_all=False))
        st.caption(t("filters.link_hint", lang))
    filters = Filters(start, end, **chosen)
    st.session_state[FILTERS_KEY] = filters
    _sync_url(filters, lang)
    return filters


def describe(filters: Filters, store: Engine, dates: bool = True) -> str:
    return filters.describe(language(), cached(overview.csm_names, store), dates)


# --- caching: no time limit; a value is kept until a table it read is written ----------------------
# Every write bumps its tables' counters in the store, in the same transaction (ops_core.db.versions).
# A cached value remembers the tables it read (recorded while it was computed) and their counters
# then; it is served while none of them has moved. The counters are read once per page visit (not
# on reruns of the same page), so a slider move never queries the database, and a change made by
# another session or app instance shows at the next page visit, on the pages that read it only.

CURRENT_PAGE_KEY = "ops_current_page"
VERSIONS_KEY = "ops_table_versions"


def table_versions(store: Engine) -> dict[str, int]:
    """The store's write counters as this page visit read them."""
    page = st.session_state.get(CURRENT_PAGE_KEY)
    seen = st.session_state.get(VERSIONS_KEY)
    if seen is None or seen[0] != page:
        with store.connect() as conn:
            seen = (page, versions.snapshot(conn))
        st.session_state[VERSIONS_KEY] = seen
    return seen[1]


def store_key(store: Engine) -> str:
    """The store's full URL: the key every cached query is filed under."""
    return store.url.render_as_string(hide_password=False)


# What a slow read is doing, as the reader is told while waiting: by the module that computes it.
WORKING = {"ops_core.scoring": "working.features", "ops_core.rfm": "working.features", "ops_core.risk": "working.risk",
           "ops_core.metrics": "working.indicators", "ops_core.indicators": "working.indicators",
           "ops_core.cohorts": "working.indicators", "ops_core.funnel": "working.indicators",
           "ops_core.snapshot": "working.indicators", "ops_core.reports": "working.report"}


@contextmanager
def working(text_key: str) -> Iterator[None]:
    """A spinner saying what is being done (and for how long), in the reader's language. Streamlit
    shows it only once the block has taken half a second, so a warm cache shows nothing."""
    with st.spinner(tr(text_key), show_time=True):
        yield


def view_area(name: str, view: object) -> Any:
    """The container a page draws the results of ``view`` in (its period, grain, segment...). When
    the view changed since this session last drew it, what the previous view showed is cleared at
    once, so no number of the old view stands under the new one's headings while it is computed.

    The area and an empty slot beside it swap places on each new view: the old area's position gets
    the empty element (which removes it and everything in it), the new area a position of its own.
    (Replacing a container by a container keeps the old children on screen until they are redrawn,
    and an empty element sent to the same position in the same breath is merged away.)"""
    key = f"ops_view_{name}"
    seen, side = st.session_state.get(key, (None, 0))
    if seen != view:
        side = 1 - side
        st.session_state[key] = (view, side)
    if side:
        st.empty()
        return st.container()
    area = st.container()
    st.empty()
    return area


@dataclass(frozen=True)
class _Kept:
    """A cached value: the tables it read with their counters then, and the value (pickled when each
    reader gets a copy of its own)."""

    read: tuple[tuple[str, int], ...]
    value: Any


class _Cache:
    """Values by key, the least recently used dropped past ``size``; shared by every session of the
    process (Streamlit runs them in threads)."""

    def __init__(self, size: int) -> None:
        self.size, self.entries, self.lock = size, OrderedDict[bytes, _Kept](), threading.Lock()

    def get(self, key: bytes) -> _Kept | None:
        with self.lock:
            kept = self.entries.get(key)
            if kept is not None:
                self.entries.move_to_end(key)
            return kept

    def put(self, key: bytes, kept: _Kept) -> None:
        with self.lock:
            self.entries[key] = kept
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_COPIED = _Cache(512)   # a copy for each reader: values a page may change
_SHARED = _Cache(48)    # one object for every reader: large read-only frames and indexes


def _kept_or_computed(cache: _Cache, key: tuple, store: Engine, compute: Callable[[], Any], copied: bool,
                      text_key: str) -> Any:
    """The value under ``key`` while no table it read has been written since, else ``compute()``'s,
    recording the tables it reads. Enclosing computations learn the tables too (a derived value
    depends on what its parts read)."""
    now = table_versions(store)
    digest = hashlib.sha256(pickle.dumps((store_key(store), *key))).digest()
    kept = cache.get(digest)
    if kept is not None and versions.fresh(dict(kept.read), now):
        versions.note(table for table, _ in kept.read)
        return pickle.loads(kept.value) if copied else kept.value
    with working(text_key), versions.recording() as read:
        value = compute()
    cache.put(digest, _Kept(tuple(sorted((table, now.get(table, 0)) for table in read)),
                            pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL) if copied else value))
    versions.note(read)
    return value  # the cache holds its own copy (pickled) or the shared object


def _query(function: Callable[..., Any], store: Engine, args: tuple, kwargs: Mapping[str, Any], copied: bool) -> Any:
    """An ops_core query ``function(conn, *args, **kwargs)`` through the cache of its kind."""
    def compute() -> Any:
        with store.connect() as conn:
            return function(conn, *args, **kwargs)

    return _kept_or_computed(_COPIED if copied else _SHARED,
                             (function.__module__, function.__qualname__, args, tuple(sorted(kwargs.items()))),
                             store, compute, copied, WORKING.get(function.__module__, "working.reading"))


def cached(function: Callable[..., Any], store: Engine, *args: Any, **kwargs: Any) -> Any:
    """An ops_core query's result through the cache (a copy of its own), kept until a table it read
    is written."""
    return _query(function, store, args, kwargs, copied=True)


def shared(function: Callable[..., Any], store: Engine, *args: Any) -> Any:
    """Like ``cached``, but every rerun gets the same object instead of a copy: for the large
    read-only frames a slider move reads (copying 20k customers' features costs ~20 ms a move).
    Callers must not modify the result."""
    return _query(function, store, args, {}, copied=False)


def derived(build: Callable[..., Any], store: Engine, *args: Any, text_key: str = "working.reading") -> Any:
    """A read-only object a page builds from cached reads (a similarity index, normalised features),
    shared like ``shared`` and kept until a table any of those reads read is written."""
    return _kept_or_computed(_SHARED, (build.__module__, build.__qualname__, args), store, lambda: build(store, *args),
                             False, text_key)


# --- customer value, shared by every page that weighs customers --------------------------------
KEPT_WEIGHTS_KEY = "c_kept_weights"  # the customer page's weights, kept for the other pages ("c_kept_" resets with a preset)


def normalised_features(store: Engine, as_of: dt.date, methods_json: str, mappings_json: str = "{}") -> Any:
    """Every customer's dimensions normalised to 0..1, shared between reruns (read-only): a slider
    move only re-weights it (deriving them takes seconds when cold)."""
    return derived(_normalised, store, as_of, methods_json, mappings_json, text_key="working.features")


def customer_features(store: Engine, as_of: dt.date) -> Any:
    """Every customer's raw features (scoring.derive_features), shared between reruns (read-only).
    Each of its sources is cached on its own and the merge is derived from them, so a write reads
    again only the sources that read its table: a contract signed leaves the customers' own fields
    and the overdue invoices as they were read."""
    return derived(_features, store, as_of, text_key="working.features")


def _features(store: Engine, as_of: dt.date) -> Any:
    from ops_core import scoring

    return scoring.features_from({source: shared(scoring.feature_source, store, as_of, source)
                                  for source in scoring.FEATURE_SOURCES})


def renewal_risk(store: Engine, as_of: dt.date, horizon_days: int) -> Any:
    """The contracts up for renewal with their risk (risk.renewal_risk), shared between reruns
    (read-only), from its four reads cached one by one as ``customer_features`` is."""
    return derived(_renewal_risk, store, as_of, horizon_days, text_key="working.risk")


def _renewal_risk(store: Engine, as_of: dt.date, horizon_days: int) -> Any:
    from ops_core import risk

    config = cached(risk.stored_config, store)
    return risk.risk_from(as_of, shared(risk.contracts_up_for_renewal, store, as_of, horizon_days),
                          usage_change(store, as_of), shared(risk.overdue_by_customer, store, as_of),
                          shared(risk.key_contact_changes, store, as_of, config.key_contact_days), None, config)


def usage_change(store: Engine, as_of: dt.date) -> Any:
    """risk.usage_change, shared (read-only), from the usage sums and the customers in force cached
    apart: a contract signed reads which customers are in force again, not six months of usage."""
    return derived(_usage_change, store, as_of, text_key="working.risk")


def _usage_change(store: Engine, as_of: dt.date) -> Any:
    from ops_core import risk

    return risk.usage_change_of(shared(risk.usage_sums, store, as_of), shared(risk.customers_in_force, store, as_of))


def risk_levels(store: Engine, as_of: dt.date, horizon_days: int = 90) -> Any:
    """Each customer's worst renewal-risk level (customer_view.customer_risk_levels), one per customer
    of the features in their order, shared between reruns (read-only): a weight does not move it, so a
    slider move neither groups the contracts again nor lines them up with the customers."""
    return derived(_risk_levels, store, as_of, horizon_days)


def _risk_levels(store: Engine, as_of: dt.date, horizon_days: int) -> Any:
    from ops_core import customer_view

    levels = customer_view.customer_risk_levels(renewal_risk(store, as_of, horizon_days))
    return levels.reindex(customer_features(store, as_of).index).astype("string")


def _normalised(store: Engine, as_of: dt.date, methods_json: str, mappings_json: str) -> Any:
    import json

    from ops_core import scoring

    features = customer_features(store, as_of)
    methods = {k: scoring.MethodSpec.from_dict(v) for k, v in json.loads(methods_json).items()}
    return scoring.normalise(features, methods, json.loads(mappings_json))


def methods_key(methods: dict[str, Any]) -> str:
    import json

    return json.dumps({k: m.to_dict() for k, m in methods.items()}, sort_keys=True)


def kept_mappings() -> dict[str, dict[str, float]]:
    """The category mapping last edited on the customer page, or the default one."""
    from ops_core import scoring

    return st.session_state.get("c_kept_mappings") or scoring.mappings_in_force()


def current_scores(store: Engine, as_of: dt.date) -> tuple[pd.Series, pd.Series]:
    """Every customer's value score and tier (index customer_id) under the weights, methods and tier
    rules last set on the customer page, or the defaults: moving those sliders re-ranks other pages."""
    import json

    from ops_core import scoring, tiers

    methods = st.session_state.get("c_kept_methods") or scoring.DEFAULT_METHODS
    mappings = kept_mappings()
    kept = st.session_state.get(KEPT_WEIGHTS_KEY)
    weights = kept if kept and sum(kept.values()) > 0 else scoring.DEFAULT_WEIGHTS  # all zero: the customer page says so
    rules = st.session_state.get("c_kept_rules") or cached(tiers.tier_rules, store)
    normalised = normalised_features(store, as_of, methods_key(dict(methods)), json.dumps(mappings, sort_keys=True))
    scores = scoring.score(normalised.values, weights)
    industry = customer_features(store, as_of)["industry"] if rules.by_industry else None
    return scores, tiers.assign_tiers(scores, rules, industry)


def clear_caches() -> None:
    """Drop every cached value and read the counters again (a store replaced under the app, or its
    schema upgraded: writes themselves need no clearing, their counters retire what they touched)."""
    drop_kept_values()
    forget_versions()


def drop_kept_values() -> None:
    """Every cached value, for every session of this process."""
    _COPIED.clear()
    _SHARED.clear()
    st.cache_data.clear()


def forget_versions() -> None:
    """Read the store's counters again on this session's next cached read (after its own write)."""
    st.session_state.pop(VERSIONS_KEY, None)


# --- output ------------------------------------------------------------------------------------


def grid_words(lang: str) -> dict[str, str]:
    """The grid's own words (pager, filter menu) in the reader's language: AG Grid's locale keys
    under ``grid.`` in the translation table."""
    return {key.removeprefix("grid."): t(key, lang) for key in TEXT if key.startswith("grid.")}


def pager(total: int, key: str, size: int | None = None, hint: str = "") -> slice:
    """The page box of a long list and which of its rows to send to the browser: one page, never the
    whole list (at 50,000 customers a list holds thousands of rows). A list of one page gets no box; a
    list that got shorter (a filter) shows its last page. ``hint`` follows the row count."""
    size = size or int(cached(settings.get, engine(), "ui.page_size"))
    pages = max(1, -(-total // size))
    if pages == 1:
        if hint:
            st.caption(hint)
        return slice(0, total)
    if st.session_state.get(key, 1) > pages:
        st.session_state[key] = pages
    box, note = st.columns([1, 5], vertical_alignment="bottom")
    number = int(box.number_input(tr("list.page"), min_value=1, max_value=pages, value=1, step=1, key=key))
    first = (number - 1) * size
    rows = tr("list.rows", first=f"{first + 1:,}", last=f"{min(first + size, total):,}", total=f"{total:,}",
              page=f"{number:,}", pages=f"{pages:,}")
    note.caption(" · ".join(part for part in (rows, hint) if part))
    return slice(first, first + size)


def grid(frame: pd.DataFrame, key: str, page_size: int = 50, height: int = 420, selectable: bool = False,
         decimals: Mapping[str, int] | None = None) -> dict | None:
    """A paged AgGrid of one page's worth of rows (see STACK-NOTES); returns the selected row, if any.
    ``decimals`` (column -> digits) writes those number columns with a fixed number of decimals."""
    from st_aggrid import AgGrid, GridOptionsBuilder, JsCode

    # Dates and other objects go to the browser as text, or the grid shows "[object Object]".
    shown = frame.astype({c: "string" for c in frame.columns
                          if frame[c].dtype == object or isinstance(frame[c].dtype, pd.CategoricalDtype)})
    builder = GridOptionsBuilder.from_dataframe(shown)
    # A page sent by ``pager`` fits one grid page: no second pager under the first.
    builder.configure_pagination(enabled=len(shown) > page_size, paginationAutoPageSize=False, paginationPageSize=page_size)
    builder.configure_default_column(sortable=True, filter=True, resizable=True, minWidth=90)
    for column, digits in (decimals or {}).items():  # thousands separated, every row the same decimals
        builder.configure_column(column, type=["numericColumn"], valueFormatter=JsCode(
            f"p => p.value == null ? '' : Number(p.value).toLocaleString('en-US', "
            f"{{minimumFractionDigits: {int(digits)}, maximumFractionDigits: {int(digits)}}})"))
    if selectable:
        builder.configure_selection(selection_mode="single", use_checkbox=False)
    options = builder.build()
    options["autoSizeStrategy"] = {"type": "fitCellContents"}
    options["paginationPageSizeSelector"] = sorted({20, 50, 100, int(page_size)})  # the size in use among the choices
    options["localeText"] = grid_words(language())
    # The grid's own download button would bypass masking and formula neutralising: off.
    # The grid reads its options once: a new language is a new grid.
    response = AgGrid(shown, gridOptions=options, key=f"{key}_{language()}", height=height, show_download_button=False,
                      show_toolbar=False, theme="streamlit", allow_unsafe_jscode=True,  # the formatter above: ours
                      update_on=["selectionChanged"] if selectable else [])
    rows = getattr(response, "selected_rows", None) if selectable else None
    if rows is None or len(rows) == 0:
        return None
    return (rows.iloc[0] if isinstance(rows, pd.DataFrame) else pd.Series(rows[0])).to_dict()


def tooltips(*fields: str | tuple[str, str]) -> list[Any]:
    """A chart's tooltip fields under their headings in the reader's language; a field may come with
    a number format (``("share", ".1%")``)."""
    import altair as alt

    lang = language()
    out = []
    for field in fields:
        name, fmt = field if isinstance(field, tuple) else (field, None)
        out.append(alt.Tooltip(name, title=present.header(name, lang), **({"format": fmt} if fmt else {})))
    return out


def shown_grid(frame: pd.DataFrame, key: str, columns: Mapping[str, present.Column] | None = None,
               **kwargs: Any) -> dict | None:
    """``grid`` of a stored frame through the presentation layer; the grid has no number formats of
    its own, so yuan are rounded to the fen and a percentage column reads in percent under a "%" header.
    Returns the selected row by shown headers."""
    shown, formats = present.frame(frame, language(), columns=columns)
    decimals: dict[str, int] = {}
    for title, spec in formats.items():
        if spec.kind in (present.Kind.money, present.Kind.yuan):
            shown[title] = shown[title].round(spec.decimals)
            decimals[title] = spec.decimals
        elif spec.kind == present.Kind.percent:
            shown[title] = (shown[title] * 100).round(spec.decimals)
            shown = shown.rename(columns={title: f"{title} (%)"})
            decimals[f"{title} (%)"] = spec.decimals
        elif spec.kind in (present.Kind.number, present.Kind.count):  # scores to one decimal, counts whole
            decimals[title] = spec.decimals
    return grid(shown, key, decimals=decimals, **kwargs)


def download_buttons(frame: pd.DataFrame, basename: str, notes: list[str], personal: str | None = None, *,
                     unmasked: bool = False, store: Engine | None = None, filters: Mapping[str, Any] | None = None) -> None:
    """CSV (UTF-8 with BOM) and Excel downloads, neutralised, masked, with the view described inside,
    through the presentation layer (yuan, labels, headers in the reader's language, number formats).
    ``personal`` names the entity whose personal data the frame holds: masked, or with ``unmasked``
    (admins) in full and each file recorded in ``store``'s audit log with ``filters`` when it is built.
    An entity's own file (the data page) is written by ``cockpit.entity_files.export`` instead."""
    left, right = st.columns(2)
    lang = language()
    actor = acting_user()  # read now: the files are built outside this run, when a button is pressed

    def safe(fmt: str) -> pd.DataFrame:
        if not personal or not unmasked:
            return exports.release(frame, personal) if personal else frame
        assert store is not None
        with transaction(store) as session:
            return exports.release(frame, personal, actor=actor, masked=False, conn=session,
                                   filters={**(filters or {}), "format": fmt})

    # The files are built when a button is pressed, not on every rerun (a 20k-row Excel takes seconds).
    # A file named after a table is named in the reader's language (客户.xlsx), as the data page's files are.
    name = t(f"table.{basename}", lang) if f"table.{basename}" in TEXT and lang != DEFAULT_LANGUAGE else basename
    left.download_button(tr("download.csv"), lambda: exports.reader_csv_bytes(safe("csv"), lang, notes=notes),
                         f"{name}.csv", mime="text/csv", key=f"csv_{basename}", on_click="ignore")
    right.download_button(tr("download.excel"), lambda: exports.reader_excel_bytes(safe("xlsx"), lang,
                                                                                  sheet_name=basename[:31], notes=notes),
                          f"{name}.xlsx", key=f"xlsx_{basename}", on_click="ignore",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def keep_in_url(params: dict[str, str], prefix: str) -> None:
    """Mirror a page's own filters (query keys starting with ``prefix``) in the address bar."""
    current = st.query_params.to_dict()
    wanted = {k: v for k, v in current.items() if not k.startswith(prefix)} | params
    if current != wanted:
        st.query_params.from_dict(wanted)


def segment_label(kind: str, value: object) -> str:
    """A segment value in the reader's language (present.segment_label)."""
    return present.segment_label(kind, value, language())


def acting_user() -> writes.Actor:
    """Who is acting: in team mode the signed-in person, with the role the store holds on this run
    (app.py's sign-in gate reads it on every run, so a role change applies at the next click); in
    single-user mode the built-in admin (``writes.LOCAL_ADMIN``)."""
    if not frame.sign_in_required():
        return writes.LOCAL_ADMIN
    signed = st.session_state.get(frame.SIGNED_KEY)
    if signed is None:  # the gate draws only the sign-in form then; a page never runs without a person
        raise PermissionDenied("nobody is signed in")
    return signed.actor


def may_see_personal_data() -> bool:
    """Only admins may export personal data unmasked."""
    return acting_user().role == Role.admin


def may_edit() -> bool:
    """Whether the acting user may change data (an editor or an admin). Pages show a viewer what is
    stored instead of the forms and buttons that change it; ops_core refuses a viewer's write anyway."""
    return acting_user().role in (Role.editor, Role.admin)


def read_only_note() -> None:
    """Says once, where a form would be, why there is none: the reader's role only reads."""
    st.caption(tr("role.read_only", role=label(Role, acting_user().role, language())))


def is_admin() -> bool:
    """Whether the acting user may do an admin's things (import, publish, the audit trail): pages hide
    them from others; ops_core refuses them whatever a page shows."""
    return acting_user().role == Role.admin


def column_config(formats: Mapping[str, present.Format]) -> dict[str, Any]:
    """Streamlit's column configuration for the formats ``present.frame`` returned."""
    config: dict[str, Any] = {}
    for title, spec in formats.items():
        if spec.kind == present.Kind.percent:  # shown scaled to 100 by ``table``: every row the same decimals
            config[title] = st.column_config.NumberColumn(format=f"%.{spec.decimals}f%%")
        elif spec.kind == present.Kind.date:
            config[title] = st.column_config.DateColumn(format="YYYY-MM-DD")
        elif spec.kind == present.Kind.datetime:
            config[title] = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
        elif spec.printf:
            config[title] = st.column_config.NumberColumn(format=spec.printf)
    return config


def table(frame: pd.DataFrame, columns: Mapping[str, present.Column] | None = None, **kwargs: Any) -> Any:
    """A read-only table in the reader's language through the presentation layer: ids hidden, cents
    shown as yuan, codes as labels, headers translated (``columns`` overrides catalogue entries).
    Returns what ``st.dataframe`` returns (the rows a reader selected, with ``on_select``)."""
    lang = language()
    if "cadence_en" in frame.columns:  # the service model's cadence, in the reader's language
        frame = frame.drop(columns="cadence_zh" if lang != "zh" else "cadence_en").rename(
            columns={"cadence_en": "cadence", "cadence_zh": "cadence"})
    shown, formats = present.frame(frame, lang, columns=columns)
    for title, spec in formats.items():
        if spec.kind == present.Kind.percent:
            shown[title] = pd.to_numeric(shown[title], errors="coerce") * 100
    return st.dataframe(shown, hide_index=True, width="stretch", column_config=column_config(formats), **kwargs, placeholder="")


def start_widget(key: str, value: Any) -> None:
    """Start a keyed widget at ``value`` through the session state, unless it already holds one.

    A keyed widget the browser already shows keeps its own value when only the ``value=`` argument
    changes (loading a preset would move the numbers but leave the handles where they were); a value
    set through the session state is sent to the browser.
    """
    if key not in st.session_state:
        st.session_state[key] = value


def lazy_tabs(shows: Mapping[str, Callable[[Any], None]], key: str, state: Any,
              editing: Sequence[str] = ()) -> None:
    """Tabs (text key -> what draws it from ``state``, the page's state object) of which only the open
    one is drawn, so a rerun redraws one tab, not all; ``key`` keeps the open tab in the session, and
    a switch reruns the page. The open tab is kept by its words, so after a change of language the
    tab that was open is found by its words in the other language and stays open. ``editing`` names the
    tabs that only change data (adding a demand): a reader who may not edit does not get them."""
    if editing and not may_edit():
        shows = {text: show for text, show in shows.items() if text not in editing}
    words = {text: tr(text) for text in shows}
    held = st.session_state.get(key)
    if held is not None and held not in words.values():
        same = next((text for text in shows if held in (t(text, lang) for lang in LANGUAGES)), None)
        if same is not None:
            st.session_state[key] = words[same]
    tabs = st.tabs(list(words.values()), key=key, on_change="rerun")
    for tab, show in zip(tabs, shows.values(), strict=True):
        if tab.open:
            with tab:
                show(state)


def tier_label(name: object) -> str:
    """A tier name in the reader's language (default names translated, typed names as entered)."""
    return present.tier_label(name, language())


def localised(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """A chart that speaks the reader's language: month and day names on time axes and the number
    format come from the chart locale of the translation table (English is Vega's own)."""
    chosen = i18n.chart_locale(language())
    return chart if chosen is None else chart.configure(locale=chosen)


def yuan_axis(title: str) -> alt.Axis:
    """An axis of yuan amounts, short: 50M in English, 5,000万 in Chinese (not the SI letters)."""
    if language() == "zh":
        return alt.Axis(title=title, labelExpr="format(datum.value / 10000, ',') + '万'")
    return alt.Axis(title=title, format="~s")


def rate_axis(values: Any, **axis: Any) -> tuple[alt.Scale, alt.Axis]:
    """The scale and axis of a rate: the range of the values drawn (not 0..100 %), ticks whose
    labels never repeat (charts.value_domain, charts.ticks)."""
    from ops_core import charts

    marks = charts.ticks(values, percent=True)
    return (alt.Scale(domain=charts.value_domain(values), zero=False),
            alt.Axis(format=marks.format, tickMinStep=marks.min_step, **axis))


def number_axis(values: Any, title: str | None, *, percent: bool = False, **axis: Any) -> alt.Axis:
    """An axis whose tick labels never repeat: decimals and smallest step from the values drawn."""
    from ops_core import charts

    marks = charts.ticks(values, percent=percent)
    return alt.Axis(format=marks.format, tickMinStep=marks.min_step, title=title, **axis)


def money_or_na(cents: float | None) -> str:
    """Money that may be undefined (a ratio over zero): 'n/a', never infinity."""
    return tr("report.na") if present.missing(cents) else money(cents)


def percent_or_na(ratio: float | None) -> str:
    return tr("report.na") if present.missing(ratio) else present.percent(ratio, 0)


EVENT_COLUMNS = ("name", "start_date", "format", "kind", "organisation", "cost_cents", "leads", "effective_leads",
                 "opportunities", "conversions", "attributed_revenue_cents", "roi", "cost_per_effective_lead")


def event_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """The event list's stored columns (the event's name under ``event``), for ``shown_grid``."""
    return metrics.reset_index(drop=True)[list(EVENT_COLUMNS)].rename(columns={"name": "event"})


def file_upload(label: str, key: str, limit: int | None = None) -> Any:
    """A CSV or Excel file picker whose own words (the button, the size limit) are in the reader's
    language: Streamlit writes them in English, so in Chinese they are replaced by the page's style
    (the element carries its key as the class ``st-key-<key>``). ``limit``: the largest file in bytes
    (the store's setting, ``importer.upload_limit``); never above Streamlit's ``server.maxUploadSize``."""
    server = int(st.get_option("server.maxUploadSize"))
    limit = server if limit is None else max(1, min(server, math.ceil(limit / (1024 * 1024))))
    if language() != DEFAULT_LANGUAGE:
        scope = f".st-key-{key} [data-testid=stFileUploaderDropzone]"
        st.html(f"""<style>
{scope} button [data-testid=stMarkdownContainer] p {{font-size: 0}}
{scope} button [data-testid=stMarkdownContainer] p::after {{content: "{tr('upload.button')}"; font-size: 0.875rem}}
{scope} [data-testid=stFileUploaderDropzoneInstructions] span {{font-size: 0}}
{scope} [data-testid=stFileUploaderDropzoneInstructions] span::after {{content: "{tr('upload.limit', megabytes=limit)}";
  font-size: 0.875rem}}
</style>""")
    return st.file_uploader(label, type=[suffix.lstrip(".") for suffix in UPLOAD_SUFFIXES], key=key,
                            max_upload_size=limit)


def money(cents: float) -> str:
    """Yuan, compact enough for a metric tile: ¥49.67M in English, ¥4,967.2万 in Chinese."""
    return present.money(cents, language())


def show_error(exc: OpsError) -> None:
    if isinstance(exc, (Refused, ValidationError, PermissionDenied)):
        st.error(exc.message(language()))
    elif isinstance(exc, FileProblem):
        st.error(say(exc.message, language()))
    else:
        st.error(str(exc))


FLASH_KEY = "ops_flash"  # a message that outlives the rerun after a write


def act(store: Engine, action: Callable[[Any], object], done_key: str, *,
        refused: Callable[[StaleVersion], None] | None = None, saved: Callable[[], None] | None = None,
        **values: object) -> None:
    """One user action, one transaction: on success ``saved`` runs, the caches are dropped and the page
    reruns with ``done_key``'s message (``{result}`` is what the action returned); a stale version
    goes to ``refused`` (edit forms: ``cockpit.edits.save``), bad input is shown; nothing is written."""
    try:
        with transaction(store) as session:
            result = action(session)
    except StaleVersion as exc:
        if refused is None:
            show_error(exc)
            return
        refused(exc)
        return
    except OpsError as exc:
        show_error(exc)
        return
    if saved is not None:
        saved()
    forget_versions()  # the write moved its tables' counters: what read them is read again
    st.session_state[FLASH_KEY] = tr(done_key, result=result, **values)
    st.rerun()


def show_flash() -> None:
    if FLASH_KEY in st.session_state:
        st.success(st.session_state.pop(FLASH_KEY))


def page_context() -> tuple[Engine, Filters]:
    """What every page starts from: the reachable store and the sidebar's filters."""
    run_through_app()
    store = engine()
    filters = st.session_state.get(FILTERS_KEY) or Filters.default(today())
    return store, filters


def pending_page(title_key: str, summary_key: str, frame: pd.DataFrame) -> None:
    """A page whose own feature has not landed: its heading, a note, and what the store holds."""
    st.title(tr(title_key))
    st.info(tr("page.pending"))
    st.subheader(tr(summary_key))
    st.dataframe(frame, hide_index=True, width="stretch", placeholder="")


# --- links between pages: one record opened on another page ----------------------------------------
DEMAND_LINK = "demand"  # ?demand=12 opens demand #12 on the demand board's ranked list
FEEDBACK_LINK = "item"  # ?item=1234 opens feedback item #1234 in the feedback queue


def link_to(page: str, param: str, record_id: int, label: str) -> None:
    """A link that opens one record (``?param=record_id``) on ``page``."""
    st.page_link(page, label=label, query_params={param: str(record_id)})


def open_from_link(param: str, go_to_key: str, tab_key: str, tab_text_key: str) -> None:
    """A link to one record (``?param=ID``) opens it: the page's go-to number and tab are set, once per
    link, so afterwards the reader's own choices rule until another link arrives."""
    wanted = st.query_params.get(param, "")
    opened = f"ops_link_{param}"
    if wanted.isdigit() and wanted != st.session_state.get(opened):
        st.session_state[opened] = wanted
        st.session_state[go_to_key] = int(wanted)
        st.session_state[tab_key] = tr(tab_text_key)


def showing(param: str, record_id: int) -> None:
    """The page shows this record now: the address bar links to it (and it counts as opened)."""
    st.session_state[f"ops_link_{param}"] = str(record_id)
    keep_in_url({param: str(record_id)}, param)

