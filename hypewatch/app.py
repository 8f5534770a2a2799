"""The one place that wires the packages together.

`Hypewatch` turns `Settings` into the pieces the commands and the dashboard use: the database,
the model registry and the current model, and the end-to-end check of one target (fetch, extract,
score, optionally store).
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from classifier.errors import ModelFileError
from crawler.errors import CrawlerError
from crawler.extract import Extraction, detect_language, extract_html, extract_plain_text
from hypewatch.errors import ConfigError, TargetError
from hypewatch.inputs import InputError, read_capped, read_regular_file
from hypewatch.settings import Settings
from storage.errors import DatabaseUrlError

# Every command builds a `Hypewatch`, and most need only part of it: the model (NumPy, SciPy,
# scikit-learn; skops only to write one), fetching (httpx), extraction of HTML (trafilatura) and
# the database (SQLAlchemy) are each imported where they are first used, so `hypewatch check
# page.txt` pays for none but the model, and `hypewatch --help` for none at all.
if TYPE_CHECKING:
    from classifier.model import DocumentScore, HypeModel
    from classifier.registry import ModelInfo, ModelRegistry
    from hypewatch.isrctn import IsrctnClient
    from hypewatch.trials import CitedTrialJudgement, RegistryClient, TrialRegistry
    from storage.db import Database
    from storage.documents import StoreResult

logger = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm")
TEXT_SUFFIXES = (".txt",)


@dataclass(frozen=True)
class CheckResult:
    """One target, extracted and scored."""

    target: str
    url: str | None
    extraction: Extraction
    score: DocumentScore
    raw_html: bytes | None = None
    trials: tuple[CitedTrialJudgement, ...] = ()  # the registry trials it cites, judged (`hypewatch.trials`)

    @property
    def storage_url(self) -> str:
        """The page's key in the database: its URL, or a file: URI for local files."""
        if self.url:
            return self.url
        if self.target == "-":
            from storage.documents import content_fingerprint

            return f"stdin:{content_fingerprint(self.extraction.text)[:16]}"
        return Path(self.target).resolve().as_uri()

    @property
    def domain(self) -> str:
        """The URL's host; `(file)` or `(stdin)` for local input."""
        if self.url:
            return urlsplit(self.url).hostname or ""
        return "(stdin)" if self.target == "-" else "(file)"

    def to_json(self) -> dict[str, Any]:
        score = self.score.to_dict()
        return {
            "target": self.target,
            "url": self.url,
            "title": self.extraction.title,
            "published": self.extraction.published.isoformat() if self.extraction.published else None,
            "extraction": {"status": self.extraction.status, "chars": self.extraction.chars},
            "text": self.extraction.text,
            "relevance": score["relevance"],
            "relevant": score["relevant"],
            "hype_score": score["hype_score"],
            "signals": score["signals"],
            "counter_signals": score["counter_signals"],
            "model_version": score["model_version"],
            "cited_trials": [trial.to_dict() for trial in self.trials],
        }


class Hypewatch:
    def __init__(self, settings: Settings):
        self.settings = settings

    @functools.cached_property
    def database(self) -> Database:
        from storage.db import Database

        try:
            return Database(self.settings.database_url)
        except DatabaseUrlError as exc:
            raise ConfigError(f"HYPEWATCH_DATABASE_URL: {exc}") from None

    @functools.cached_property
    def registry(self) -> ModelRegistry:
        from classifier.registry import ModelRegistry

        return ModelRegistry(self.settings.model_dir)

    @functools.cached_property
    def _model_and_info(self) -> tuple[HypeModel, ModelInfo]:
        if self.registry.current_version() is None:
            logger.warning("no model yet; training one from the labelled corpus (this happens once)")
            return self.train()
        return self.registry.load()

    @property
    def model(self) -> HypeModel:
        return self._model_and_info[0]

    @property
    def model_info(self) -> ModelInfo:
        return self._model_and_info[1]

    def train(self, extra_documents=(), **params: Any) -> tuple[HypeModel, ModelInfo]:
        """Train on `seeds/` (plus `extra_documents`), save the model and make it current."""
        from classifier.corpus import load_corpus
        from classifier.registry import train

        corpus = load_corpus(self.settings.seeds_dir).extended(extra_documents)
        model, info = train(corpus, **params)
        info = self.registry.save(model, info)
        self.__dict__["_model_and_info"] = (model, info)
        return model, info

    def register_model(self, session) -> None:
        from storage.repository import register_model_version

        info = self.model_info
        register_model_version(
            session, info.version, file_sha256=info.sha256, params=info.params, metrics=info.metrics,
            training_seconds=info.training_seconds, documents=info.documents,
        )

    # ------------------------------------------------------------------ check
    def check(self, target: str, *, allow_private: bool = False, stdin: BinaryIO | None = None) -> CheckResult:
        """Fetch or read `target`, extract it and score it; raise `TargetError` when it cannot be scored."""
        url, raw, extraction = self._read_target(target, allow_private=allow_private, stdin=stdin)
        if extraction.status != "ok":
            raise TargetError(target, _extraction_problem(extraction))
        score = self.model.score(extraction.text)
        result = CheckResult(target=target, url=url, extraction=extraction, score=score, raw_html=raw)
        trials = tuple(self.judge_trials(extraction.text, domain=result.domain, site_name=extraction.site_name))
        if trials:
            from classifier.grounding import ground_score

            # The registry's judgements are evidence for missing_trial_reference beside the text's.
            score = ground_score(score, trials, text=extraction.text, model=self.model)
        return replace(result, score=score, trials=trials)

    @functools.cached_property
    def registry_client(self) -> RegistryClient | None:
        """ClinicalTrials.gov's API client, or None when HYPEWATCH_REGISTRY_URL is off."""
        from hypewatch.trials import RegistryClient

        return RegistryClient.from_settings(self.settings)

    @functools.cached_property
    def isrctn_client(self) -> IsrctnClient | None:
        """The ISRCTN registry's API client, or None when HYPEWATCH_ISRCTN_URL is off."""
        from hypewatch.isrctn import IsrctnClient

        return IsrctnClient.from_settings(self.settings)

    @property
    def registry_clients(self) -> list[TrialRegistry]:
        """The clients of the registries that are asked (none of the `off` ones)."""
        return [c for c in (self.registry_client, self.isrctn_client) if c is not None]

    def judge_trials(self, text: str, *, domain: str = "", site_name: str | None = None) -> list[CitedTrialJudgement]:
        """The registry trials `text` cites, judged; records from the database's cache while fresh."""
        from classifier.references import find_references

        references = find_references(text)
        if not any(r.is_registry for r in references):
            return []  # nothing to look up: neither the registry client nor the database is imported
        from hypewatch.trials import judge_text

        clients = self.registry_clients
        asked = {client.kind for client in clients}
        database = self.database if any(r.kind in asked for r in references) else None
        return judge_text(database, clients, text, domain=domain, site_name=site_name,
                          max_age=dt.timedelta(days=self.settings.registry_max_age))

    def ground_cited(self, fetched: Sequence[str], *, newer_than: int | None, model_version: str | None = None) -> int:
        """After crawls or a registry refresh: the crawl processes scored pages from their text alone;
        the registry's judgements of the trials a page cites move its missing_trial_reference
        (`classifier.grounding`). Score again, and replace the prediction of, only the current
        versions whose judgements are now known: those citing a trial whose record was just fetched
        (`fetched`), and those stored after version `newer_than` that cite a trial already cached.
        With the registry off nothing is judged, so nothing moves; a failure is logged, never
        raised (it must not fail a crawl). Only the current model's predictions are replaced: when
        the crawls scored with another `model_version`, nothing is. Returns how many predictions moved."""
        if not self.registry_clients or (not fetched and newer_than is None):
            return 0
        from sqlalchemy.exc import SQLAlchemyError

        from classifier.errors import ClassifierError
        from storage.errors import StorageError
        from storage.trials import versions_to_ground

        try:
            with self.database.session() as session:
                version_ids = sorted({v for client in self.registry_clients
                                      for v in versions_to_ground(session, client.kind, identifiers=fetched,
                                                                  newer_than=newer_than)})
            if version_ids and model_version is not None and model_version != self.model_info.version:
                logger.info("predictions of model %s not grounded: the current model is %s",
                            model_version, self.model_info.version)
                return 0
            return self.ground_stored(version_ids)
        except (StorageError, SQLAlchemyError, ClassifierError) as exc:
            logger.warning("stored predictions not grounded in the trial registry: %s", exc)
            return 0

    def ground_stored(self, version_ids: Sequence[int], *, batch_size: int = 64) -> int:
        """Score these stored versions again with the current model and the registry's judgements of
        the trials they cite (from the cache: the registry is not asked), and replace the current
        model's prediction of each where that moves it (`storage.writes.replace_prediction`).
        Versions the current model has not scored are left alone. Returns how many predictions moved."""
        if not version_ids:
            return 0
        from classifier.grounding import ground_score
        from hypewatch.trials import judge_versions
        from storage.documents import PredictionScores
        from storage.writes import replace_prediction

        judged = judge_versions(self.database, version_ids)
        ids = sorted(v for v, (_, trials) in judged.items() if any(t.record is not None for t in trials))
        moved = 0
        for start in range(0, len(ids), batch_size):
            chunk = ids[start:start + batch_size]
            scores = self.model.score_many([judged[v][0].text for v in chunk])
            with self.database.session() as session:
                for version_id, score in zip(chunk, scores, strict=True):
                    page, trials = judged[version_id]
                    grounded = ground_score(score, trials, text=page.text, model=self.model)
                    moved += replace_prediction(session, version_id, PredictionScores.from_dict(grounded.to_dict()))
        if moved:
            logger.info("registry judgements moved %d stored prediction(s)", moved)
        return moved

    def _read_target(self, target: str, *, allow_private: bool, stdin: BinaryIO | None):
        try:
            scheme = urlsplit(target).scheme.lower()
        except ValueError as exc:  # a broken IPv6 literal or port
            raise TargetError(target, f"not a valid URL: {exc}") from None
        if target == "-":
            try:
                data = read_capped(stdin or sys.stdin.buffer, self.settings.max_download_bytes)
            except InputError as exc:
                raise TargetError("standard input", str(exc)) from None
            if is_blank(data):
                raise TargetError(target, "standard input is empty (no text)")
            return None, _html_or_none(data), _extract_bytes(data, prefer_html=None)
        if scheme in ("http", "https"):
            from crawler.fetch import fetch

            try:
                page = fetch(
                    target, user_agent=self.settings.user_agent, timeout=self.settings.fetch_timeout,
                    max_bytes=self.settings.max_download_bytes, allow_private=allow_private,
                )
            except CrawlerError as exc:
                raise TargetError(target, str(exc)) from None
            if not page.is_html:
                raise TargetError(target, f"not HTML (content type {page.content_type or 'unknown'})")
            return page.url, page.body, extract_html(page.html, page.url, with_language=False)
        if len(scheme) > 1:  # one letter would be a Windows drive
            raise TargetError(target, f"unsupported URL scheme {scheme!r}: only http and https are fetched")
        return None, *self._read_file(target)

    def _read_file(self, target: str) -> tuple[bytes | None, Extraction]:
        path = Path(target)
        suffix = path.suffix.lower()
        if suffix not in HTML_SUFFIXES + TEXT_SUFFIXES:
            raise TargetError(target, "unsupported file type: give an .html, .htm or .txt file, a URL, or - for stdin")
        try:
            data = read_regular_file(path, self.settings.max_download_bytes)
        except InputError as exc:
            raise TargetError(target, str(exc)) from None
        if is_blank(data):
            raise TargetError(target, "empty file (no text)")
        if suffix in HTML_SUFFIXES:
            return data, _extract_bytes(data, prefer_html=True)
        return None, _extract_bytes(data, prefer_html=False)

    # ------------------------------------------------------------------ save
    def save(self, result: CheckResult) -> StoreResult:
        """Store page, version (only if the text changed) and this model's prediction."""
        from crawler.citations import citations
        from storage.documents import ExtractedDocument, PredictionScores
        from storage.writes import store_document, store_prediction

        doc = ExtractedDocument(
            url=result.storage_url,
            domain=result.domain,
            text=result.extraction.text,
            title=result.extraction.title,
            author=result.extraction.author,
            published=result.extraction.published,
            # `check` leaves an undeclared language unknown (nothing it prints needs it); what is
            # stored has it, as a crawled page has.
            language=result.extraction.language or detect_language(result.extraction.text),
            site_name=result.extraction.site_name,
            raw_html=result.raw_html,
            fetched_at=dt.datetime.now(dt.UTC),
            citations=citations(result.extraction.text),
        )
        with self.database.session() as session:
            self.register_model(session)
            stored = store_document(session, doc)
            store_prediction(session, stored.version_id, PredictionScores.from_dict(result.score.to_dict()))
        return stored

    # ------------------------------------------------------------------ train / evaluate / rescore
    def analyst_documents(self) -> list:
        """The analysts' labels in the database as `LabelledDocument`s (origin "analyst").

        Each labelled document version becomes one document, id `analyst-v<version id>`; fields no
        analyst filled are unknown and are left out of training and evaluation."""
        from classifier.corpus import analyst_document
        from storage.labels import analyst_labels

        with self.database.session() as session:
            labels = analyst_labels(session)
        documents = []
        for label in labels:
            doc = analyst_document(
                f"analyst-v{label.version_id}", label.text, relevant=label.relevant, signals=label.signals,
                hype=label.hype, lang=label.language, note="; ".join(label.notes)[:500], evidence=label.evidence,
            )
            if doc is not None:
                documents.append(doc)
        logger.info("%d analyst-labelled document versions", len(documents))
        return documents

    def evaluate(self, *, with_labels: bool = False, n_splits: int = 5, n_jobs: int = 1, **params: Any):
        """Cross-validate the model recipe beside the baselines (`classifier.evaluation.evaluate`).

        When the registry holds the model this recipe trains on this corpus, the figures are
        recorded in its manifest under "evaluation"."""
        from classifier.corpus import load_corpus
        from classifier.evaluation import evaluate
        from classifier.registry import recipe_version

        corpus = load_corpus(self.settings.seeds_dir)
        if with_labels:
            corpus = corpus.extended(self.analyst_documents())
        report = evaluate(corpus, n_splits=n_splits, n_jobs=n_jobs, params=params)
        version = recipe_version(corpus, **params)
        try:
            info = self.registry.info(version)
        except ModelFileError:
            return report
        self.registry.update_metrics(version, {**info.metrics, "evaluation": report.to_dict()})
        current = self.__dict__.get("_model_and_info")
        if current is not None and current[1].version == version:
            self.__dict__["_model_and_info"] = (current[0], self.registry.info(version))
        logger.info("recorded the evaluation in the manifest of %s", version)
        return report

    def evaluate_real(self, part: str = "test", *, allow_missing: bool = False):
        """The current model and the baselines on the labelled real pages of `part`
        (`classifier.evaluation.evaluate_real`); raises `RealSetError` when texts are missing,
        unless `allow_missing` (the pages whose texts are missing are then left out, and listed)."""
        from classifier.corpus import load_corpus
        from classifier.evaluation import evaluate_real
        from classifier.realset import agreement, load_real_set

        real = load_real_set(self.settings.real_dir, part, require_texts=not allow_missing)
        training = load_corpus(self.settings.seeds_dir)
        report = evaluate_real(self.model, training, real.corpus(), part=part, n_sites=real.sites)
        report.agreement = agreement(self.settings.real_dir)
        report.missing = real.missing
        return report

    def tune_thresholds(self) -> dict[str, float]:
        """Choose the flag thresholds on the real set's tuning part and save them for training."""
        from classifier.evaluation import tune_thresholds
        from classifier.realset import load_real_set
        from classifier.thresholds import save_thresholds

        real = load_real_set(self.settings.real_dir, "tuning")
        chosen = tune_thresholds(self.model, real.corpus())
        save_thresholds(chosen, pages=len(real.pages), model_version=self.model_info.version)
        return chosen

    def rescore(self, *, current_only: bool = False, batch_size: int = 64) -> int:
        """Score the stored document versions the current model has not scored yet (grounded in the
        registry's judgements of the trials they cite, as a crawl's are); return how many."""
        from storage.documents import PredictionScores
        from storage.labels import version_ids_without_prediction, version_texts
        from storage.writes import store_prediction

        version = self.model_info.version
        with self.database.session() as session:
            self.register_model(session)
            pending = version_ids_without_prediction(session, version, current_only=current_only)
        done = 0
        for start in range(0, len(pending), batch_size):
            with self.database.session() as session:
                rows = version_texts(session, pending[start : start + batch_size])
            scores = self.model.score_many([text for _, text in rows])
            with self.database.session() as session:
                for (version_id, _), score in zip(rows, scores, strict=True):
                    store_prediction(session, version_id, PredictionScores.from_dict(score.to_dict()))
            done += len(rows)
            logger.info("rescored %d of %d document versions", done, len(pending))
        if done and self.registry_client is not None:
            # Scored from their text alone above: the current ones citing a trial with a cached
            # record are grounded in its judgement, as after a crawl.
            from classifier.references import NCT
            from storage.trials import versions_to_ground

            with self.database.session() as session:
                citing = set(versions_to_ground(session, NCT, newer_than=0))
            self.ground_stored(sorted(citing.intersection(pending)))
        return done


def is_blank(data: bytes) -> bool:
    """Nothing but white space (and perhaps a byte-order mark): there is nothing to extract or score."""
    return not data.removeprefix(codecs.BOM_UTF8).strip()


def _html_or_none(data: bytes) -> bytes | None:
    from crawler.fetch import looks_like_html

    return data if looks_like_html(data) else None


def _extract_bytes(data: bytes, *, prefer_html: bool | None) -> Extraction:
    from crawler.html_input import looks_binary

    if looks_binary(data):
        return Extraction("not-html", reason="binary content")
    if prefer_html is None:
        from crawler.fetch import looks_like_html

        prefer_html = looks_like_html(data)
    if prefer_html:
        return extract_html(data, with_language=False)
    from crawler.charset import decode_text

    text = decode_text(data)
    if text is None:
        return Extraction("failed", reason="the text's character encoding could not be recognised")
    return extract_plain_text(text, with_language=False)


def _extraction_problem(extraction: Extraction) -> str:
    reasons = {
        "empty": "no article text could be extracted (extraction empty); not scored",
        "not-html": "not HTML or text",
        "failed": "extraction failed",
    }
    reason = reasons[extraction.status]
    return f"{reason}: {extraction.reason}" if extraction.reason and extraction.status != "empty" else reason
