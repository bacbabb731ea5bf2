"""The Workbench: the facade an auditor holds, one method per technique over one Session.

``Workbench`` is a :class:`~workbench.session.Session` (the one loaded model, its
registries, journal and caches) whose methods call the techniques of
``workbench.techniques`` on it and open the widgets of ``workbench.widgets``. It sits
above both layers, composing them; it holds no technique's logic itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import Unpack

from .session import Session

if TYPE_CHECKING:  # pragma: no cover
    from .techniques.sampling import SampleOptions, Samples


class Workbench(Session):
    """One language model, loaded once, for every auditing technique.

    Takes the parameters of :class:`~workbench.session.Session`: ``model`` (``None``
    for the embedded default, a Hugging Face id, a folder saved with
    ``save_pretrained``, or a ``.gguf`` file), ``adapter`` (a PEFT adapter folder or Hub
    id, attached on top), ``remote`` (``True`` or a host URL: NDIF; ``"local"``: weights here, every
    request serialized as for NDIF), ``device``, ``device_map``, ``dtype``,
    ``chat_template``, ``trust_remote_code``, ``load_default_sae`` and ``journal``.

    Examples
    --------
    >>> bench.sample("Hi", n=2, max_new_tokens=4, seed=0).seed
    0
    >>> "probes" in repr(bench)
    True
    """

    # -- sampling ------------------------------------------------------------------

    def sample(self, conversation: str | Mapping | Sequence[Mapping], n: int = 8,
               **options: Unpack[SampleOptions]) -> Samples:
        """Sample ``n`` continuations of a conversation in one batched generate.

        The options are declared once, as :class:`~workbench.techniques.sampling.SampleOptions`;
        an unknown one is a ``TypeError`` naming the valid ones.

        Parameters
        ----------
        conversation : str or list of dict
            ``"Hi"`` or ``[{"role": "user", "content": "Hi"}, ...]``.
        n : int
            How many samples (one batch).
        max_new_tokens, temperature, top_p
            Decoding settings; ``temperature=0`` decodes greedily.
        seed : int, optional
            The same seed (with the same settings) gives the same samples. Without
            one a seed is drawn and recorded on the result.
        prefill : str, optional
            Words written at the start of the assistant's reply for the model to
            continue (a *prefill attack*).
        persona : str
            ``"assistant"``, ``"user"`` (the model writes the next user turn),
            ``"narrator"`` (raw continuation of the transcript) or any role name.
        cancel : threading.Event, optional
            Set it (from another thread or a widget) to stop after the current
            token; the partial result has ``cancelled=True``.
        progress : bool or callable
            Show a progress bar on long runs, or call ``progress(step, total)``
            after each decoded token (a widget's progress bar).
        steer : dict, optional
            ``{vector name: coefficient}`` of vectors in ``bench.vectors`` (see
            ``workbench.techniques.steering``), added to the residual stream on every
            decoding step through nnsight. A coefficient is in units of the layer's
            natural scale (its typical residual norm). Recorded in ``settings``.
            The same seed with and without ``steer`` draws the same random numbers,
            so the difference is the steering alone (coefficient 0 changes nothing);
            ``steering.effect`` runs both.
        layer : int, optional
            Add every vector at this layer (default: each at its own layer).
        positions : {"all", "generated"}
            Edit every position (prompt included), or only the positions that
            predict new tokens.
        fuzz : float
            Activation fuzzing: add fresh Gaussian noise of this norm, relative to the
            layer's natural scale, at ``layer`` (else the vectors' layer, else the
            middle layer). Seeded by ``seed``.
        neurons : dict, optional
            MLP neuron edits on every decoding step, through nnsight:
            ``{(layer, neuron): ("scale", factor)}`` multiplies a neuron's activation
            (1.0 changes nothing), ``{(layer, neuron): ("clamp", value)}`` fixes it,
            at every position (see ``workbench.techniques.neurons``). Combines with
            ``steer``; recorded in ``settings``.

        Returns
        -------
        Samples

        Examples
        --------
        >>> out = bench.sample("What is your goal?", n=4, prefill="My secret goal is", max_new_tokens=8, seed=0)
        >>> len(out), out.seed, out.prompt.endswith("My secret goal is")
        (4, 0, True)
        >>> bench.sample("Is the Earth flat?", n=2, steer={"ones": 0.5}, max_new_tokens=4).settings["steer"]
        {'ones': 0.5}
        """
        from .techniques import sampling

        return sampling.sample(self, conversation, n, **options)

    def complete(self, text: str, n: int = 4, **kwargs: Any) -> Samples:
        """Continue a raw text with no chat template (``max_new_tokens``, ``temperature``, ``top_p``, ``seed``,
        ``cancel``, ``progress`` as in :meth:`sample`); see :func:`workbench.techniques.sampling.complete`.

        >>> bench.complete("Dear diary, today the model", n=2, max_new_tokens=4, seed=0, progress=False).persona
        'text'
        """
        from .techniques import sampling

        return sampling.complete(self, text, n, **kwargs)

    def sweep(self, vector: Any, coefficients: Sequence[float], **kwargs: Any):
        """Sweep a steering vector's coefficient, scoring alignment and helpfulness at each.

        Parameters
        ----------
        vector : str or SteeringVector
            A name in ``bench.vectors``.
        coefficients : sequence of float
            Strengths in units of the layer's natural scale (at least 3 distinct);
            they all run batched in the same forward passes.
        alignment, helpfulness : callable, optional
            ``fn(bench, vector, coefficients, **options)`` returning one value per
            coefficient (or a dict of such lists, the first being the curve).
            Defaults: held-out A/B contrast pairs and the shipped benign question set.
        threshold : float
            Alignment gained per unit of helpfulness lost that marks the efficient range.
        layer, batch_size, prompt, sample_options
            Where to steer; rows per forward pass; what clicking the chart samples.

        Returns
        -------
        SweepResult

        Examples
        --------
        >>> from workbench.techniques.scores import alignment_score, helpfulness_score
        >>> result = bench.sweep("ones", [-1, -0.5, 0, 0.5, 1], alignment=alignment_score(limit=2),
        ...                      helpfulness=helpfulness_score(limit=2))   # the defaults score more items
        >>> result.coefficients, 0 <= result.r2("alignment", "linear") <= 1
        ([-1.0, -0.5, 0.0, 0.5, 1.0], True)
        """
        from .techniques import sweep

        return sweep.sweep(self, vector, coefficients, **kwargs)

    # -- activations and features ------------------------------------------------

    def activations(self, text_or_conversation: Any, sae: str | None = None, k: int = 32):
        """Per-token SAE latents and the logit lens of a text or conversation (one forward pass).

        Parameters
        ----------
        text_or_conversation : str or list of dict
            A string is run as is; a conversation is rendered through the chat template.
        sae : str, optional
            A registered SAE; default the first one (none registered: no latents). Its own
            site is read (``bench.saes[name].site``: the residual stream, an MLP or attention
            output, a transcoder's input), in the same forward pass as the residual stream
            the logit lens reads.
        k : int
            Latents kept per token.

        Returns
        -------
        TokenActivations

        Examples
        --------
        >>> acts = bench.activations("The cat sat on the mat")
        >>> acts
        TokenActivations(11 tokens, sae='tiny', layer=1, k=32)
        >>> acts.top_features(2).columns.tolist()   # the latents active at token 2, strongest first
        ['latent', 'activation']
        """
        from .techniques import activations

        return activations.activations(self, text_or_conversation, sae=sae, k=k)

    def feature_stats(self, sae: str | None = None, corpus: Sequence[str] | None = None, **kwargs: Any):
        """Density, top examples and promoted tokens of every latent of an SAE (cached on disk).

        Examples
        --------
        >>> examples = bench.feature_stats(progress=False).feature(7).examples[:3]
        >>> len(examples), sorted(examples[0])
        (3, ['activation', 'after', 'before', 'token'])
        """
        from .techniques import features

        return features.feature_stats(self, sae, corpus, **kwargs)

    def explain(self, latent: int, sae: str | None = None, explainer: Any = "model", **kwargs: Any):
        """A short explanation of what a latent responds to, with its detection score (cached on disk).

        Parameters
        ----------
        latent : int
        sae : str, optional
            A registered SAE (default: the first one).
        explainer : {"model", "rules", "imported"} or wb.Endpoint
            ``"model"`` (the default): the loaded model, through its chat template (weak on
            small models: the embedded 135M one scores at chance); ``"rules"``: the tokens and
            contexts it fires on, what it promotes and suppresses (no model needed, fast);
            ``"imported"``: one imported with :meth:`import_explanations`;
            ``wb.Endpoint(base_url, model, api_key_env=...)``: a chat model behind an
            OpenAI-compatible endpoint you name. All but ``"rules"`` fall back to the rule-based
            summary when they have nothing, saying so in ``note``.
        **kwargs
            ``scorer`` (``"lexical"`` or ``"model"``), ``corpus``, ``refresh``: see
            :func:`workbench.techniques.explain.explain`.

        Returns
        -------
        Explanation
            ``text``, ``score`` (detection AUROC: does the explanation pick the segments where
            the latent fires out of a mix; 0.5 is chance), ``scorer``, ``note``.

        Examples
        --------
        >>> e = bench.explain(3, explainer="rules")
        >>> e.text.startswith("fires on"), 0 <= e.score <= 1
        (True, True)
        >>> bench.explain(3).explainer in ("model", "rules")  # the model's, or the rules' when it wrote nothing
        True
        """
        from .techniques import explain

        return explain.explain(self, latent, sae, explainer, **kwargs)

    def explain_all(self, latents: Sequence[int] | None = None, sae: str | None = None, explainer: Any = "model",
                    **kwargs: Any):
        """Explanations of many latents (default: the ``n=50`` most frequent), each with its detection score.

        Options as in :meth:`explain`, plus ``n``, ``progress`` and ``cancel``; see
        :func:`workbench.techniques.explain.explain_all`.

        Examples
        --------
        >>> found = bench.explain_all(n=3, explainer="rules")
        >>> len(found), found.to_pandas().columns[:2].tolist()
        (3, ['latent', 'explanation'])
        """
        from .techniques import explain

        return explain.explain_all(self, latents, sae, explainer, **kwargs)

    def import_explanations(self, source: Any, sae: str | None = None, **kwargs: Any):
        """Import published explanations of an SAE's latents from a feature-dashboard JSON export.

        ``source`` is the export (a list of objects with ``modelId``, ``layer``, ``index``,
        ``description``; ``.json`` or ``.json.gz``); rows are matched to the SAE by its dashboard
        id, which sae-lens lists for a registry SAE, else ``dashboard_id="modelId/layer"``.
        The file is untrusted: read bounded, each row checked, descriptions kept as text. See
        :func:`workbench.techniques.published.import_explanations`. Afterwards
        ``bench.explain(latent, explainer="imported")`` scores one.

        Examples
        --------
        >>> rows = [{"modelId": "m", "layer": "1-res", "index": 5, "description": "the word help"}]
        >>> bench.import_explanations(rows, dashboard_id="m/1-res").summary["imported"]
        1
        """
        from .techniques import published

        return published.import_explanations(self, source, sae, **kwargs)

    def neighbours(self, latent: int, sae: str | None = None, **kwargs: Any):
        """The latents nearest a latent, by decoder-direction cosine (``by="decoder"``) or by co-activation over
        the corpus (``by="coactivation"``), each with its explanation and detection score.

        ``k``, ``explainer`` and ``corpus`` as in :func:`workbench.techniques.feature_search.neighbours`.
        Returns a ``FeatureMatches`` (``.frame``: rank, latent, similarity, explanation, score).

        Examples
        --------
        >>> bench.neighbours(3, k=2).frame.latent.tolist()
        [...]
        """
        from .techniques import feature_search

        return feature_search.neighbours(self, latent, sae, **kwargs)

    def search_features(self, query: str, sae: str | None = None, **kwargs: Any):
        """Latents whose explanations mean what a text query says, ranked through the model's own embeddings.

        The candidates' explanations (default: the rule-based ones of every latent that fires
        on the corpus) are written and cached first where missing. ``k``, ``explainer``,
        ``latents``, ``layer``, ``corpus`` as in :func:`workbench.techniques.feature_search.search_features`.

        Examples
        --------
        >>> bench.search_features("fox", k=3).frame.columns.tolist()
        ['rank', 'latent', 'similarity', 'explanation', 'score']
        """
        from .techniques import feature_search

        return feature_search.search_features(self, query, sae, **kwargs)

    def span_features(self, source: Any, start: int, stop: int, sae: str | None = None, **kwargs: Any):
        """The latents that fire on tokens ``start:stop`` of a text more than on the rest of it, each with its
        explanation (what the activation panel shows for a selection over its token strip).

        ``source`` is a text, a conversation or a ``TokenActivations``; ``k``, ``reduce`` (``"max"`` or
        ``"sum"``), ``explainer``, ``corpus`` as in :func:`workbench.techniques.feature_search.span_features`.
        Returns a ``FeatureMatches`` (``.frame``: rank, latent, similarity (the contrast), span, elsewhere,
        explanation, score).

        Examples
        --------
        >>> bench.span_features("The quick brown fox", 3, 4, k=2).kind
        'span'
        """
        from .techniques import feature_search

        return feature_search.span_features(self, source, start, stop, sae, **kwargs)

    def feature_list(self, name: str, latents: Sequence[int], sae: str | None = None, **kwargs: Any):
        """Save a named list of latents with notes (``notes=`` a string, or one per latent) to the journal,
        each with its explanation and detection score; it appears in the exported HTML page.

        See :func:`workbench.techniques.feature_lists.feature_list`; :meth:`feature_lists` reads them back.

        Examples
        --------
        >>> bench.feature_list("candidates", [3, 7], notes={7: "fires on dogs"}).to_pandas().note.tolist()
        ['', 'fires on dogs']
        """
        from .techniques import feature_lists

        return feature_lists.feature_list(self, name, latents, sae, **kwargs)

    def feature_lists(self, journal: Any = None) -> dict:
        """The feature lists saved in this session's journal (or another loaded one), by name.

        Examples
        --------
        >>> _ = bench.feature_list("candidates", [3])
        >>> bench.feature_lists()["candidates"].latents
        [3]
        """
        from .techniques import feature_lists

        return feature_lists.feature_lists(self.journal if journal is None else journal)

    # -- model diffing -----------------------------------------------------------

    def diff(self, other: Any = None, prompts: Any = None, **kwargs: Any):
        """Diff this model against a checkpoint of the same architecture (e.g. a fine-tune of it),
        or, with ``adapter=False``, against itself with its adapter switched off (the base).

        ``other`` is a model id, folder, ``.gguf`` file or loaded session; a checkpoint
        whose shapes differ is refused, naming the parameter. ``adapter=False`` (no
        ``other``) compares the adapted model with the same weights without the adapter,
        no second copy loaded. ``prompts`` (default a few
        short ones) go through the chat template. ``direction``, ``layers``, ``neurons``,
        ``top_neurons``, ``n_samples``, ``max_new_tokens``, ``seed``, ``batch_size``,
        ``progress`` and ``cancel`` as in :func:`workbench.techniques.diffing.diff`.
        Returns a ``ModelDiff``: per-layer residual change (and its projection on
        ``direction``), neuron changes, and both models' samples side by side.

        Examples
        --------
        >>> result = bench.diff(bench, ["Hi"], n_samples=1, max_new_tokens=2, progress=False)
        >>> result.verdict().startswith("no change")
        True
        """
        from .techniques import diffing

        return diffing.diff(self, other, prompts, **kwargs)

    # -- does it cause it: attribution and patching ----------------------------------

    def attribute(self, prompt: Any, target: Any, sae: str | None = None, k: int = 10, **kwargs: Any):
        """Rank an SAE's latents, token by token, by their attribution to a target's log-probability.

        One trace: at the SAE's site the activation becomes ``decode(latents) + error`` with the
        error held fixed (the model's output is unchanged), and one backward pass from the
        target's log-probability gives each latent's gradient; its attribution at a token is
        ``activation × gradient``, what zeroing it there should cost the target (first order).

        Parameters
        ----------
        prompt : str or list of dict
            A string is run as is; a conversation is rendered for the assistant's reply
            (``prefill=`` adds the reply's first words).
        target : str, int or list of int
            The continuation (its tokens, summed log-probability) or token id(s).
        sae : str, optional
            A registered SAE (default the first); its own site is attributed.
        k : int
            Latents kept per token (largest absolute attribution).

        Returns
        -------
        Attribution
            ``.frame`` (position, token, latent, activation, gradient, attribution), ``.top(n)``,
            ``.by_token(i)``, ``.by_latent()``, ``.logprob``, ``.ablate(pairs)``.

        Examples
        --------
        >>> result = bench.attribute("The cat sat on the", " mat", sae="tiny", k=3)
        >>> result.top(2).columns.tolist()
        ['position', 'token', 'latent', 'activation', 'gradient', 'attribution']
        >>> row = result.top(1).iloc[0]
        >>> measured = result.ablate([(row.position, row.latent)])   # zero it: the real change
        >>> measured.columns.tolist()
        ['position', 'latent', 'logprob', 'change']
        """
        from .techniques import attribution

        return attribution.attribute(self, prompt, target, sae=sae, k=k, **kwargs)

    def ablate(self, prompt: Any, target: Any, latents: Any, sae: str | None = None, **kwargs: Any):
        """Zero SAE latents (the error term kept) and measure the change in a target's log-probability.

        ``latents``: a latent id (zeroed at every token), a ``(position, latent)`` pair, a list
        of them, or a frame with ``position`` and ``latent`` columns (``Attribution.top()``).
        Each is ablated alone, in batched traces (``progress``, ``cancel``). Returns a DataFrame:
        ``position`` (-1: every token), ``latent``, ``logprob`` and ``change`` (from the clean run).

        Examples
        --------
        >>> bench.ablate("The cat sat on the", " mat", [3, (2, 5)], sae="tiny").position.tolist()
        [-1, 2]
        """
        from .techniques import attribution

        return attribution.ablate(self, prompt, target, latents, sae=sae, **kwargs)

    def attribution_agreement(self, cases: Any, sae: str | None = None, top: int = 8, **kwargs: Any):
        """Attribution checked against ablation: the Pearson correlation over a test set.

        For each ``(prompt, target)`` of ``cases`` (a list of pairs or a dict), its ``top``
        (token, latent) pairs of largest absolute attribution are zeroed one at a time and the
        target's measured log-probability drop is set beside the attribution.

        Examples
        --------
        >>> check = bench.attribution_agreement([("The cat sat on the", " mat"), ("Hello! How", " can")],
        ...                                     sae="tiny", top=4)
        >>> len(check.frame), -1 <= check.pearson <= 1
        (8, True)
        """
        from .techniques import attribution

        return attribution.agreement(self, cases, sae=sae, top=top, **kwargs)

    def patch(self, clean: Any, corrupted: Any, target: Any = None, site: str = "resid_post", **kwargs: Any):
        """Activation patching: each (layer, position) of a site from a clean run into a corrupted one.

        Parameters
        ----------
        clean, corrupted : str or list of dict
            Two prompts that tokenise to the same length (a ``ValueError`` names both lengths).
        target : str or int, optional
            One token whose probability at the last position is read; default the clean run's
            most likely next token.
        site : str
            ``"resid_post"`` (the residual stream after each layer), ``"attn_out"``,
            ``"mlp_out"``, ``"resid_mid"``, ``"mlp_in"``, or a hook name with the layer written
            ``N`` (``"blocks.N.hook_mlp_out"``, ``"model.layers.N.mlp"``).
        **kwargs
            ``layers``, ``positions`` (default all), ``batch_size`` (patched runs per trace),
            ``progress``, ``cancel``.

        Returns
        -------
        Patching
            ``.effect`` ``[layers, positions]``, normalised ``(p - p_corrupted) / (p_clean - p_corrupted)``;
            ``.probs``, ``.best()``, ``.chart()`` (the altair heat map), ``.text(layer, position)``
            (the patched run's greedy continuation), ``.to_pandas()``.

        Examples
        --------
        >>> result = bench.patch("The quick fox jumps to the", "The honest fox jumps to the")
        >>> result.effect.shape, result.site
        ((2, 6), 'resid_post')
        >>> result.chart().to_dict()["mark"]["type"]
        'rect'
        >>> isinstance(result.text(0, 1, max_new_tokens=2), str)
        True
        """
        from .techniques import patching

        return patching.patch(self, clean, corrupted, target, site=site, **kwargs)

    # -- probes and neurons ------------------------------------------------------

    def probe(self, positive: Sequence[Any], negative: Sequence[Any], **kwargs: Any):
        """Fit a linear probe separating two sets of texts or conversations (one or every layer).

        Parameters
        ----------
        positive, negative : list of str or conversations
            At least 4 of each; conversations go through the chat template.
        **kwargs
            ``layer`` (int, list, ``"all"`` or None for every layer), ``position``
            (``"mean"`` or ``"last"``), ``test_size``, ``seed``, ``batch_size``,
            ``progress``, ``cancel``, ``name``, ``register``: see
            ``workbench.techniques.probes.probe``.

        Returns
        -------
        Probe
            Registered in ``bench.probes`` (unless ``register=False``).

        Examples
        --------
        >>> p = bench.probe(["You idiot."] * 8, ["Thank you."] * 8, progress=False)
        >>> p.per_layer.layer.tolist(), p.accuracy, p.chart()
        ([0, 1], 1.0, alt.LayerChart(...))
        """
        from .techniques import probes

        return probes.probe(self, positive, negative, **kwargs)

    def value_vectors(self, direction: Any, **kwargs: Any):
        """MLP neurons whose value vectors point along a direction, with the tokens they promote.

        ``direction`` is a probe or vector (or its registered name), an SAE latent as
        ``("sae-name", latent)``, or a tensor; ``top``, ``layers`` and ``vocab_k`` as in
        ``workbench.techniques.neurons.value_vectors``. Returns a ``ValueVectors``.

        Examples
        --------
        >>> bench.value_vectors("ones", top=10).to_pandas()[["layer", "neuron"]].head(2)
           layer  neuron
        0      0       4
        1      0      93
        """
        from .techniques import neurons

        return neurons.value_vectors(self, direction, **kwargs)

    def neuron_activations(self, neurons: Any, prompts: Any, **kwargs: Any):
        """Activation of MLP neurons (``(layer, neuron)`` pairs, a ValueVectors or an edits dict) on prompts.

        ``batch_size`` and ``reduce`` (``"mean"`` or ``"max"`` over tokens, or the ``"last"`` token) as in
        ``workbench.techniques.neurons.neuron_activations``. Returns a DataFrame.

        Examples
        --------
        >>> bench.neuron_activations([(1, 7)], ["You idiot.", "Thank you."])[["text", "neuron"]]
                 text  neuron
        0  You idiot.       7
        1  Thank you.       7
        """
        from .techniques import neurons as neuron_module

        return neuron_module.neuron_activations(self, neurons, prompts, **kwargs)

    # -- training data -----------------------------------------------------------

    def search(self, dataset: Any, query: Any, mode: str = "keyword", **kwargs: Any):
        """Search a dataset by keyword, regex, meaning (the model's own embeddings) or SAE latent.

        Parameters
        ----------
        dataset : Dataset, path, list, DataFrame or datasets.Dataset
            See ``wb.read_dataset``.
        query : str, list of str, or int
            Keywords / regular expressions, a text (``semantic``) or a latent (``feature``).
        mode : {"keyword", "regex", "semantic", "feature"}
        **kwargs
            ``k``, ``field``, ``layer``, ``sae``, ``max_tokens``, ``batch_size``,
            ``progress``, ``cancel``: see ``workbench.techniques.data_search.search``.

        Returns
        -------
        SearchResult

        Examples
        --------
        >>> data = wb.corpora.demo_training_corpus()
        >>> bench.search(data, "chocolate").to_pandas().id.head(3).tolist()
        ['doc-123', 'doc-111', 'doc-200']
        >>> len(bench.search(data, "reward models like chocolate", mode="semantic", k=5, progress=False).frame)
        5
        """
        from .techniques import data_search

        return data_search.search(self, dataset, query, mode, **kwargs)

    def audit_preferences(self, pairs: Any, **kwargs: Any):
        """Audit a preference dataset: which SAE latents separate chosen from rejected responses.

        Parameters
        ----------
        pairs : Dataset, path, list, DataFrame or datasets.Dataset
            Preference rows (``prompt``, ``chosen``, ``rejected``); see ``wb.read_dataset``.
        **kwargs
            ``sae``, ``field_prompt``, ``batch_size``, ``max_tokens``, ``progress``,
            ``cancel``, ``top_examples``: see :func:`workbench.techniques.preference.audit`.

        Returns
        -------
        PreferenceAudit

        Examples
        --------
        >>> audit = bench.audit_preferences(wb.corpora.preference_planted(), sae="tiny", progress=False)
        >>> audit.summary["pairs"] > 0
        True
        """
        from .techniques import preference

        return preference.audit(self, pairs, **kwargs)

    def show(self, conversation: Any = None, **kwargs: Any):
        """Every technique's panel over this model, as linked tabs (options: :class:`workbench.WorkbenchView`).

        >>> view = bench.show("What is your goal?", prefill="My secret goal is")   # shown by ending a cell with it
        >>> view
        WorkbenchView('...', tab='activations', tabs=['activations', 'steering', 'attacks', 'search', 'preference',
                      'probes', 'causal', 'diff', 'journal'], built=['activations', 'steering'])
        """
        from .widgets.app import WorkbenchView

        return WorkbenchView(self, conversation, **kwargs)

    # -- the journal ---------------------------------------------------------------

    def replay(self, entry: Any) -> Any:
        """Run a journaled call again on this workbench, with its recorded inputs and seed.

        The replay is journaled too, with ``replay_of`` naming the original entry.

        Parameters
        ----------
        entry : Entry, int or str
            An entry (from this journal or one read with ``wb.Journal.load``), or an
            index or id in ``bench.journal``.

        Returns
        -------
        The technique's new result.

        Raises
        ------
        workbench.recording.ReplayRefused
            A ``ValueError``, and nothing runs, when the entry does not name a
            registered workbench technique (replay never imports or calls what a
            journal file names), when its recorded function is not that technique's,
            when it passes arguments the technique does not take, when an input was
            recorded only as a summary (a tensor, DataFrame, in-memory dataset,
            function), when it names a vector, SAE or probe that is not registered
            on this workbench, or when it ran with another adapter than this workbench
            runs with (or with one where this has none, or the other way round).

        Examples
        --------
        >>> earlier = wb.Workbench(tiny_model, journal=tmp / "workbench-journal-20250101-120000.jsonl")
        >>> out = earlier.sample("Hi", n=2, max_new_tokens=4, progress=False)   # a seed is drawn and recorded
        >>> old = wb.Journal.load(tmp / "workbench-journal-20250101-120000.jsonl")
        >>> bench.replay(old.last("sample")).texts == out.texts
        True
        """
        from . import recording, techniques

        techniques.load_all()
        return recording.replay(self, entry)

    def serve(self, *, datasets: Mapping[str, Any] | None = None, limits: Any = None, port: int = 0) -> Any:
        """Serve this workbench to an auditing agent over MCP (streamable HTTP, from a background thread).

        The server listens on 127.0.0.1 only (``port`` 0: a free one) and answers only
        requests with its random bearer token, a local Host header and a local client.
        Every agent call is journaled with the actor ``agent:<client name>`` and waits
        for the model while a panel's run holds it (and the reverse).

        Parameters
        ----------
        datasets : dict, optional
            ``{name: dataset}`` the agent may search (anything ``wb.read_dataset`` reads).
        limits : workbench.mcp.Limits, optional
            Per-call limits (samples, tokens) and the session's budget (calls, sampled tokens).

        Returns
        -------
        workbench.mcp.Handle
            Shows the URL, token and a ready-to-paste Claude Code command and Claude Desktop
            entry; ``.pause()``, ``.resume()``, ``.set_budget(calls=..., sampled_tokens=...)``,
            ``.stop()``.

        Examples
        --------
        >>> handle = bench.serve()
        >>> print(handle)
        workbench MCP server (running) at http://127.0.0.1:.../mcp
          token: ...
          Claude Code:    claude mcp add --transport http workbench http://127.0.0.1:.../mcp --header ...
        ...
        >>> handle.stop()
        """
        try:
            from .mcp import serve
        except TypeError as error:  # anyio's socket types cannot be defined once nnsight has mounted ``save``
            if "type annotation" not in str(error):
                raise
            raise RuntimeError("The MCP server's networking (anyio) cannot load after nnsight was imported on its "
                               "own: import workbench before nnsight (e.g. before `from nnsight import CONFIG`), "
                               "in a fresh kernel.") from error
        return serve(self, datasets=datasets, limits=limits, port=port)

    def export_html(self, path: str | Path, widgets: Any = None) -> Path:
        """Write the journal (findings first, notes, entries) and this session's panels, as last left, to one
        HTML page that renders offline; see :func:`workbench.export.export_html`.

        >>> bench.export_html(tmp / "audit.html").name
        'audit.html'
        """
        from .export import export_html

        return export_html(path, bench=self, widgets=widgets)
