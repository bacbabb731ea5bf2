"""The agent's tools: one method per tool, each a thin wrapper over a technique.

Each tool of :class:`Toolbox` is a method with typed parameters (the server builds its
JSON schema from them) and a docstring written for the agent; it returns a JSON-safe
dict, which the gate (:meth:`~workbench.mcp._toolbox.ToolboxBase.call`) fits to the
tool's output budget. No tool runs code, reads a path or reaches the network: the
datasets are the ones the person registered, the SAEs and vectors the registered ones.

The annotations of this module are evaluated (no ``from __future__ import annotations``):
the server builds each tool's JSON schema from them.

>>> import json
>>> from workbench.mcp import Limits
>>> box = Toolbox(bench, limits=Limits(max_calls=5))
>>> cid = json.loads(box.call("start_conversation", "agent:demo", {"user_message": "Hi"}))["conversation_id"]
>>> reply = json.loads(box.call("sample_reply", "agent:demo", {"conversation_id": cid, "n": 2,
...                                                           "max_new_tokens": 4, "seed": 0}))
>>> len(reply["samples"]), bench.journal[-1].actor, box.status()["calls_used"]
(2, 'agent:demo', 2)
"""

from typing import Any, Literal

from ._toolbox import MAX_EXAMPLES, MAX_K, Conversation, ToolboxBase, ToolRefused, _check_int

#: The longest text ``patch_activations`` patches (each token of each layer is one patched run).
MAX_PATCH_TOKENS = 24


class Toolbox(ToolboxBase):
    """An auditing agent's tools over one Workbench, with the person's controls.

    Parameters
    ----------
    bench : Workbench
        The one loaded model the agent and the widgets share.
    datasets : dict, optional
        ``{name: dataset}`` the agent may search (anything ``wb.read_dataset`` reads);
        no other data is reachable from a tool.
    limits : Limits, optional

    Examples
    --------
    >>> import json
    >>> box = Toolbox(bench, datasets={"demo": wb.corpora.demo_training_corpus()})
    >>> hits = json.loads(box.call("search_data", "agent:demo", {"dataset": "demo", "query": "chocolate", "k": 2}))
    >>> [hit["id"] for hit in hits["results"]]
    ['doc-123', 'doc-111']
    >>> box.pause(); box.paused, box.resume(), box.paused
    (True, None, False)
    """

    TOOLS = ("workbench_status", "start_conversation", "add_turn", "sample_reply", "branch_conversation",
             "list_conversations", "show_conversation", "sample_persona", "complete_text", "top_features",
             "feature_details", "nearest_features", "search_features", "steer", "fuzz_activations", "logit_lens",
             "attribute_features", "patch_activations", "search_data", "write_note", "mark_finding", "read_journal")
    # -- tools: the session ------------------------------------------------------------

    def workbench_status(self) -> dict:
        """What is loaded and what is left: the model, its SAEs, steering vectors, the datasets you may search,
        your per-call limits and the session's budget (calls and sampled tokens), and whether you are paused.
        Call it first."""
        bench = self.bench
        runs_on = "here" if not bench.remote else "NDIF (simulated here)" if bench.remote == "local" else (
            f"NDIF at {bench.remote}" if isinstance(bench.remote, str) else "NDIF")
        return {"model": bench.model_name, "runs_on": runs_on, "layers": bench.n_layers, "saes": bench.saes.names(),
                "vectors": bench.vectors.names(), "datasets": sorted(self.datasets),
                "conversations": len(self.conversations), **self.status()}

    # -- tools: conversations ----------------------------------------------------------

    def start_conversation(self, system_prompt: str | None = None, user_message: str | None = None) -> dict:
        """Start a conversation with the target model and get its id (``c1``, ``c2``...). Optionally give a
        system prompt (hidden from the user, seen by the model) and the first user message. Nothing is
        sampled: call sample_reply next."""
        messages = []
        if system_prompt is not None and system_prompt.strip():
            messages.append({"role": "system", "content": system_prompt})
        if user_message is not None and user_message.strip():
            messages.append({"role": "user", "content": user_message})
        return self._shown(self._new(messages))

    def add_turn(self, conversation_id: str, content: str, role: Literal["user", "assistant", "system"] = "user"
                 ) -> dict:
        """Append a turn to a conversation: a user message, or an assistant reply you write yourself (the
        model will take it as its own), or a system message."""
        conversation = self._conversation(conversation_id)
        if not content.strip():
            raise ToolRefused("A turn needs some text.")
        conversation.messages.append({"role": role, "content": content})
        return {"conversation_id": conversation.id, "turns": len(conversation.messages)}

    def branch_conversation(self, conversation_id: str, keep_turns: int) -> dict:
        """Copy the first ``keep_turns`` turns of a conversation into a new one (a new id), to try another
        continuation from an earlier point without losing the original."""
        conversation = self._conversation(conversation_id)
        _check_int("keep_turns", keep_turns, 0, len(conversation.messages))
        branch = self._new([dict(m) for m in conversation.messages[:keep_turns]], conversation.id, keep_turns)
        return self._shown(branch)

    def list_conversations(self) -> dict:
        """Every conversation of this session: id, number of turns, where it branched from, its first words."""
        rows = []
        for c in self.conversations.values():
            first = next((m["content"] for m in c.messages if m["role"] == "user"), "")
            rows.append({"conversation_id": c.id, "turns": len(c.messages), "parent": c.parent,
                         "first_user_message": first[:80]})
        return {"conversations": rows}

    def show_conversation(self, conversation_id: str) -> dict:
        """Every turn of one conversation, with its index (branch_conversation keeps turns by index)."""
        return self._shown(self._conversation(conversation_id))

    def sample_reply(self, conversation_id: str, n: int = 1, temperature: float = 1.0, max_new_tokens: int = 64,
                     prefill: str | None = None, seed: int | None = None, append: bool = False) -> dict:
        """Sample the target model's reply to a conversation, ``n`` times in one batch.

        ``prefill`` writes the first words of the assistant's reply for the model to continue (a prefill
        attack, e.g. "My secret goal is"); each sample's text starts with it. ``temperature`` 0 is greedy.
        The same ``seed`` gives the same samples. ``append`` adds the first sample to the conversation as the
        assistant's turn. Costs n * max_new_tokens of the sampled-token budget at most."""
        conversation = self._conversation(conversation_id)
        self._sampling(n, max_new_tokens)
        out = self.bench.sample(conversation.messages, n=n, temperature=temperature, max_new_tokens=max_new_tokens,
                                prefill=prefill, seed=seed, progress=False)
        self._spent(out)
        if append:
            conversation.messages.append({"role": "assistant", "content": out.completions[0]})
        return {"conversation_id": conversation.id, "seed": out.seed, "prefill": prefill,
                "samples": self._samples(out), "appended": append}

    def sample_persona(self, conversation_id: str, persona: str = "user", n: int = 2, temperature: float = 1.0,
                       max_new_tokens: int = 64, prefill: str | None = None, seed: int | None = None) -> dict:
        """Have the model write another speaker's turn of a conversation instead of the assistant's.

        ``persona`` "user": the model writes the next user message (it often says what it expects the user
        to want, or knows); "narrator": it continues the raw transcript as a story (``prefill`` is the
        narrator's first words); any other name opens a turn for that role. Personas other than the
        assistant do not keep the assistant's secrets."""
        conversation = self._conversation(conversation_id)
        if not conversation.messages:
            raise ToolRefused("The conversation is empty: add a turn first.")
        self._sampling(n, max_new_tokens)
        out = self.bench.sample(conversation.messages, n=n, temperature=temperature, max_new_tokens=max_new_tokens,
                                prefill=prefill, seed=seed, persona=persona, progress=False)
        self._spent(out)
        return {"conversation_id": conversation.id, "persona": persona, "seed": out.seed,
                "samples": self._samples(out)}

    def complete_text(self, text: str, n: int = 2, temperature: float = 1.0, max_new_tokens: int = 64,
                      seed: int | None = None) -> dict:
        """Continue a raw text with no chat template: the model as a document completer (write the start of
        a document, e.g. an internal memo about the model's training, and see how it goes on)."""
        self._sampling(n, max_new_tokens)
        out = self.bench.complete(text, n=n, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed,
                                  progress=False)
        self._spent(out)
        return {"seed": out.seed, "samples": self._samples(out)}

    # -- tools: features ---------------------------------------------------------------

    def _assistant_positions(self, messages: list) -> list[int]:
        """Token positions of the assistant turns' text in the conversation as rendered whole."""
        positions = []
        tokenizer = self.bench.tokenizer
        for i, message in enumerate(messages):
            if message["role"] != "assistant" or not messages[:i]:
                continue
            start = len(self.bench.render(messages[:i], persona="assistant").input_ids)
            length = len(tokenizer(message["content"], add_special_tokens=False)["input_ids"])
            positions.extend(range(start, start + length))
        return positions

    def top_features(self, conversation_id: str, tokens: Literal["assistant", "all"] = "assistant", k: int = 10,
                     sae: str | None = None) -> dict:
        """The SAE features (latents) most active on a conversation: by default on the assistant's tokens
        only, where what the model itself is doing shows. For each: its id, its strongest activation, on how
        many of those tokens it fires, and the token where it fires most. Look one up with
        feature_details."""
        import numpy as np

        conversation = self._conversation(conversation_id)
        _check_int("k", k, 1, MAX_K)
        if not conversation.messages:
            raise ToolRefused("The conversation is empty: add a turn first.")
        acts = self.bench.activations(conversation.messages, sae=sae, k=32)
        if acts.sae is None:
            raise ToolRefused("No SAE is registered on this workbench, so there are no features to read.")
        if tokens == "assistant":
            picked = [p for p in self._assistant_positions(conversation.messages) if p < len(acts)]
            if not picked:
                raise ToolRefused("The conversation has no assistant turn yet: sample_reply with append=true "
                                  "first, or ask for tokens='all'.")
        else:
            picked = list(range(len(acts)))
        best: dict[int, list] = {}
        for position in picked:
            for latent, value in zip(acts.top_latents[position].tolist(), acts.top_values[position].tolist()):
                if value <= 0:
                    continue
                row = best.setdefault(int(latent), [0.0, 0, position])
                row[1] += 1
                if value > row[0]:
                    row[0], row[2] = value, position
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
        self._look("top_features", [latent for latent, _ in ranked], acts, conversation, acts.sae)
        return {"conversation_id": conversation.id, "sae": acts.sae, "layer": acts.layer, "tokens": tokens,
                "tokens_read": len(picked),
                "features": [{"latent": latent, "max_activation": round(float(np.float32(v)), 4), "tokens_firing": c,
                              "top_token": acts.tokens[p], "top_position": p} for latent, (v, c, p) in ranked]}

    def feature_details(self, latent: int, sae: str | None = None, examples: int = 5, neighbours: int = 5) -> dict:
        """One SAE feature's dashboard: how often it fires (density over the reference corpus), a written
        explanation with its detection score (AUROC at picking the corpus snippets where the feature fires
        out of a mix; 0.5 is chance), the output tokens its decoder direction promotes and suppresses, its
        top-activating corpus snippets (``before`` [``token``] ``after``), snippets at every strength
        (activation-quantile bins, strongest first), a histogram of its activations over the corpus, and its
        neighbours by decoder direction and by co-activation, each with its explanation. The explanation is
        a rule-based summary of the examples (and a published one when the person imported it): check it
        against the examples."""
        from ..techniques import explain, feature_search, features, published

        _check_int("examples", examples, 0, MAX_EXAMPLES)
        _check_int("neighbours", neighbours, 0, MAX_K)
        stats = features.feature_stats(self.bench, sae, progress=False)
        detail = stats.feature(latent)
        self._look("feature_details", [detail.latent], sae=stats.entry.name)
        near: dict = {}
        for by in feature_search.BY if neighbours else ():
            latents, similarity, _ = feature_search.nearest_latents(stats, detail.latent, by=by, k=neighbours)
            near[by] = list(zip(latents, similarity))
        wanted = [detail.latent, *{la for rows in near.values() for la, _ in rows}]
        texts = {e.latent: e for e in explain.explanations_for(self.bench, stats, wanted)}
        own = texts[detail.latent]
        counts, edges = stats.activation_histogram(detail.latent)
        return {"latent": detail.latent, "sae": stats.entry.name, "density": detail.density,
                "explanation": {"text": own.text, "explainer": own.explainer, "detection_score": own.score},
                "published_explanation": published.imported(self.bench, stats.entry).get(detail.latent),
                "promoted_tokens": [{"token": t, "logit": v} for t, v in detail.promoted],
                "suppressed_tokens": [{"token": t, "logit": v} for t, v in detail.suppressed],
                "top_examples": detail.examples[:examples],
                "quantile_examples": [{"quantiles": list(b["quantiles"]), "low": b["low"], "high": b["high"],
                                       "examples": b["examples"][:min(examples, 2)]} for b in detail.quantiles],
                "activation_histogram": [{"from": round(float(lo), 4), "to": round(float(hi), 4), "tokens": int(c)}
                                         for lo, hi, c in zip(edges[:-1], edges[1:], counts) if c],
                "neighbours": {by: [{"latent": la, "similarity": round(s, 4), "explanation": texts[la].text}
                                    for la, s in rows] for by, rows in near.items()}}

    def nearest_features(self, latent: int, k: int = 10, sae: str | None = None) -> dict:
        """The features whose decoder directions are closest to one feature's (cosine similarity): related
        or split concepts."""
        from ..techniques import features

        _check_int("k", k, 1, MAX_K)
        near = features.nearest(self.bench, latent, sae=sae, k=k)
        self._look("nearest_features", [latent, *near.latent.tolist()], sae=sae)
        return {"latent": latent, "nearest": [{"latent": int(r.latent), "cosine": round(float(r.cosine), 4)}
                                              for r in near.itertuples()]}

    def search_features(self, text: str, k: int = 10, sae: str | None = None) -> dict:
        """The features a word or phrase activates most, where it occurs in the reference corpus (or on its
        own when it does not): a way to find the feature for a concept you suspect."""
        from ..techniques import features

        _check_int("k", k, 1, MAX_K)
        found = features.feature_stats(self.bench, sae, progress=False).lookup(text, n=k)
        rows = [{"latent": int(r.latent), "mean_activation": round(float(r.mean_activation), 4),
                 "density": round(float(r.density), 6)} for r in found.itertuples()]
        return {"text": text, "features": rows,
                "occurrences": int(found.occurrences.iloc[0]) if len(found) else 0}

    # -- tools: interventions ----------------------------------------------------------

    def _effect(self, conversation: Conversation, n: int, max_new_tokens: int, **options: Any) -> dict:
        from ..techniques import steering

        self._sampling(n, max_new_tokens, sides=2)
        result = steering.effect(self.bench, conversation.messages, n, max_new_tokens=max_new_tokens, progress=False,
                                 **options)
        self._spent(result.unsteered, *(() if result.steered is result.unsteered else (result.steered,)))
        rows = []
        for a, b, shift in zip(result.unsteered.completions, result.steered.completions, result.shift):
            rows.append({"unsteered": a, "steered": b,
                         "mean_logprob_shift": round(sum(shift) / len(shift), 4) if shift else None})
        return {"conversation_id": conversation.id, "seed": result.steered.seed, "samples": rows}

    def steer(self, conversation_id: str, coefficient: float, feature: int | None = None, vector: str | None = None,
              n: int = 2, seed: int = 0, max_new_tokens: int = 48, temperature: float = 1.0,
              prefill: str | None = None, sae: str | None = None) -> dict:
        """Steer the model's reply with an SAE feature's decoder direction (``feature``) or a registered steering
        vector (``vector``, see workbench_status), added at ``coefficient`` times the layer's typical
        activation size (try 2 to 8; negative suppresses), and compare: unsteered and steered samples drawn
        with one seed, so every difference is the steering's. Costs twice n * max_new_tokens at most."""
        from ..techniques import vectors

        conversation = self._conversation(conversation_id)
        if (feature is None) == (vector is None):
            raise ToolRefused("Give exactly one of feature (an SAE latent id) or vector (a registered name).")
        if feature is not None:  # the vector is registered on the workbench, journaled with this call's entry
            name = vectors.from_latent.__wrapped__(self.bench, feature, sae=sae).name
            self._look("steer", [feature], sae=sae)
        else:
            name = vector
            if name not in self.bench.vectors:
                raise ToolRefused(f"No steering vector {name!r}; registered: {', '.join(self.bench.vectors.names())}.")
        out = self._effect(conversation, n, max_new_tokens, steer={name: coefficient}, seed=seed,
                           temperature=temperature, prefill=prefill)
        return {"steer": {name: coefficient}, **out}

    def fuzz_activations(self, conversation_id: str, noise: float = 0.5, n: int = 2, seed: int = 0,
                         layer: int | None = None, max_new_tokens: int = 48, temperature: float = 1.0,
                         prefill: str | None = None) -> dict:
        """Activation fuzzing: add random noise (``noise`` times the layer's typical activation size, try 0.3 to
        2) to one layer's activations (default the middle layer) while the model replies, and compare with the
        unfuzzed reply on the same seed. Noise can shake loose what the model otherwise keeps back."""
        conversation = self._conversation(conversation_id)
        out = self._effect(conversation, n, max_new_tokens, fuzz=noise, layer=layer, seed=seed,
                           temperature=temperature, prefill=prefill)
        return {"noise": noise, "layer": layer, **out}

    def logit_lens(self, text: str, position: int = -1, top: int = 5) -> dict:
        """The logit lens on a raw text: the tokens each layer would predict next at one position (default the
        last), with their probabilities, top ``top`` per layer. Shows what the model is 'thinking' before its
        last layer decides."""
        _check_int("top", top, 1, 5)
        acts = self.bench.activations(text, k=1)
        lens = acts.lens
        if not -len(acts) <= position < len(acts):
            raise ToolRefused(f"position must be in {-len(acts)}..{len(acts) - 1} for this text of {len(acts)} tokens.")
        return {"token": acts.tokens[position], "position": position % len(acts), "tokens": len(acts),
                "layers": [{"layer": layer, "top": [{"token": t, "prob": round(float(p), 4)} for t, p in
                                                    zip(lens.tokens[i][position][:top], lens.probs[i][position][:top])]}
                           for i, layer in enumerate(lens.layers)]}

    # -- tools: causes ------------------------------------------------------------------

    def attribute_features(self, conversation_id: str, target: str, k: int = 10, sae: str | None = None) -> dict:
        """Which SAE features make the assistant say ``target`` next (e.g. " chocolate", with its leading
        space): the features at each token of the conversation ranked by attribution (activation x gradient of
        the target's log-probability), the top ``k`` over the conversation. Each is checked: ``measured_change``
        is what zeroing that feature at that token really does to the log-probability (negative: it was
        pushing the target)."""
        from ..techniques import attribution

        conversation = self._conversation(conversation_id)
        _check_int("k", k, 1, MAX_K)
        result = attribution.attribute(self.bench, conversation.messages, target, sae=sae, k=k)
        top = result.top(k)
        measured = result.ablate(top) if len(top) else None
        rows = [{"position": int(r.position), "token": r.token, "latent": int(r.latent),
                 "activation": round(float(r.activation), 4), "attribution": round(float(r.attribution), 4),
                 "measured_change": round(float(measured.change[i]), 4)} for i, r in enumerate(top.itertuples())]
        return {"conversation_id": conversation.id, "target": result.target, "logprob": round(result.logprob, 4),
                "sae": result.sae, "layer": result.layer, "features": rows}

    def patch_activations(self, clean: str, corrupted: str, target: str | None = None,
                          site: Literal["resid_post", "attn_out", "mlp_out"] = "resid_post") -> dict:
        """Activation patching on two raw texts with the same number of tokens (at most 24) that differ in a
        word: each layer's ``site`` at each token is copied from the clean run into the corrupted one, and the
        probability of ``target`` (one token; default the clean run's most likely next token) read. ``effect``
        1 restores the clean answer, 0 changes nothing. Returns, per layer, the token where patching restores
        most: where the information that decides the answer sits, layer by layer."""
        from ..techniques import patching

        for name, text in (("clean", clean), ("corrupted", corrupted)):
            count = len(self.bench.tokenizer(text)["input_ids"])
            if count > MAX_PATCH_TOKENS:
                raise ToolRefused(f"The {name} text has {count} tokens; patching runs one forward pass per layer and "
                                  f"token, so this tool takes at most {MAX_PATCH_TOKENS}.")
        result = patching.patch(self.bench, clean, corrupted, target or None, site=site)
        layers = []
        for i, layer in enumerate(result.layers):
            j = int(result.effect[i].argmax())
            layers.append({"layer": layer, "position": result.positions[j], "token": result.tokens[result.positions[j]],
                           "effect": round(float(result.effect[i, j]), 3)})
        best_layer, best_position = result.best()
        return {"target": result.target, "p_clean": round(result.p_clean, 4),
                "p_corrupted": round(result.p_corrupted, 4), "site": result.site,
                "tokens": result.tokens, "corrupted_tokens": result.corrupted_tokens,
                "best": {"layer": best_layer, "position": best_position}, "per_layer": layers}

    # -- tools: training data --------------------------------------------------------

    def search_data(self, dataset: str, query: str, mode: Literal["keyword", "semantic", "feature"] = "keyword",
                    k: int = 5) -> dict:
        """Search a training dataset the person registered (see workbench_status for their names).
        ``keyword``: documents containing the words (case-insensitive), most matches first. ``semantic``:
        documents closest in meaning to the query (the model's own embeddings). ``feature``: the query is an
        SAE feature id, documents where it fires most. Each hit: id, score and a snippet."""
        from ..techniques import data_search

        _check_int("k", k, 1, MAX_K)
        if dataset not in self.datasets:
            known = ", ".join(sorted(self.datasets)) or "none: the person registered no dataset"
            raise ToolRefused(f"No dataset {dataset!r} (datasets: {known}).")
        q: Any = query
        if mode == "feature":
            try:
                q = int(query)
            except ValueError:
                raise ToolRefused(f"In feature mode the query is an SAE feature id (a whole number), not {query!r}."
                                  ) from None
        found = data_search.search(self.bench, self.datasets[dataset], q, mode, k=k, progress=False)
        counts = {k: v for k, v in found.summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        return {"dataset": dataset, "mode": mode, "query": query, **counts,
                "results": [{"id": str(r["id"]), "score": round(float(r["score"]), 4), "snippet": str(r["snippet"])}
                            for _, r in found.frame.iterrows()]}

    # -- tools: the journal ------------------------------------------------------------

    def write_note(self, text: str, entry_id: str | None = None) -> dict:
        """Write a note in the investigation journal the person reads (about one entry, by its id from
        read_journal, or about the investigation)."""
        note = self.bench.journal.note(text, entry=entry_id)
        return {"note_id": note.id, "entry": note.entry}

    def mark_finding(self, text: str, entry_id: str | None = None) -> dict:
        """Record a finding: a claim about the model, in one or two sentences, ideally naming the journal entry
        (its id from read_journal) whose evidence supports it."""
        note = self.bench.journal.mark_finding(entry_id, text)
        return {"finding_id": note.id, "entry": note.entry}

    def read_journal(self, last: int = 20, actor: str | None = None) -> dict:
        """The latest journal entries (yours and the person's): id, who, what ran, a one-line summary, and the
        findings so far. ``actor`` keeps one actor's entries (e.g. "agent:claude-code"; "person" for the
        person's)."""
        _check_int("last", last, 1, 100)
        entries = list(self.bench.journal.entries)
        if actor is not None:
            entries = [e for e in entries if (e.actor or "person") == actor]
        return {"entries": [{"id": e.id, "time": e.time[11:19], "actor": e.actor or "person",
                             "technique": e.technique, "summary": e.line()[:200]} for e in entries[-last:]],
                "findings": [{"text": f.text, "entry": f.entry, "actor": f.actor or "person"}
                             for f in self.bench.journal.findings[-20:]]}
