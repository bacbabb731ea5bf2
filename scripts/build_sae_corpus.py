"""Build the corpus the embedded default SAE is trained on: workbench/data/sae_corpus.jsonl.gz

    python scripts/build_sae_corpus.py [--samples-rows 256]

Three sources, each record tagged with its source (see workbench/data/SOURCES.md):

1. ``python-docs``: the reStructuredText sources of the Python 3.11 documentation as
   carried by Debian's ``python3.11-doc`` package (``apt-get install python3-doc``),
   lightly stripped of markup and cut into passages. PSF licence.
2. ``workbench-written``: chat conversations this script writes from topic tables
   (several system prompts, multi-turn questions and answers), stored as messages
   and rendered through the model's chat template when loaded.
3. ``smollm2-samples``: replies sampled from the default model itself to the
   written user questions (one batched generate per chunk), stored as messages.

Deterministic for a given seed (the model samples are seeded too).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from pathlib import Path

DOCS = Path("/usr/share/doc/python3.11/html/_sources")
OUT = Path(__file__).resolve().parents[1] / "workbench" / "data" / "sae_corpus.jsonl.gz"
DOC_SECTIONS = ("tutorial", "howto", "faq", "reference", "library", "using", "glossary.rst.txt")

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_DIRECTIVE = re.compile(r"^\s*\.\. [a-z:-]+::.*$")
_OPTION = re.compile(r"^\s+:[a-z-]+:.*$")


def clean_rst(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if _DIRECTIVE.match(line) or _OPTION.match(line):
            continue
        if re.fullmatch(r"\s*[=\-~^*#+\"'`]{3,}\s*", line):  # heading underlines
            continue
        line = _ROLE.sub(r"\1", line).replace("``", "").replace("**", "")
        lines.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def doc_passages(limit_chars: int, rng: random.Random) -> list[dict]:
    files = []
    for section in DOC_SECTIONS:
        path = DOCS / section
        files += [path] if path.is_file() else sorted(path.rglob("*.rst.txt"))
    rng.shuffle(files)
    records, total = [], 0
    for path in files:
        text = clean_rst(path.read_text(errors="ignore"))
        for passage in re.split(r"\n\s*\n(?=\S)", text):
            passage = passage.strip()
            if len(passage) < 200:
                continue
            passage = passage[:2000]
            records.append({"source": "python-docs", "file": str(path.relative_to(DOCS)), "text": passage})
            total += len(passage)
            if total >= limit_chars:
                return records
    return records


TOPICS = {
    "cooking": [
        ("bake bread at home",
         "Mix flour, water, salt and yeast, knead for ten minutes, let it rise until doubled, shape it and bake at "
         "230 degrees for about 35 minutes."),
        ("make a simple tomato sauce",
         "Soften garlic in olive oil, add crushed tomatoes and a pinch of salt, and simmer for twenty minutes before "
         "adding basil."),
        ("cook rice without it getting sticky",
         "Rinse the rice until the water runs clear, use about 1.5 cups of water per cup of rice, and let it rest "
         "covered after cooking."),
        ("make a chocolate cake",
         "Whisk flour, sugar, cocoa and baking soda, add eggs, milk and oil, and bake at 180 degrees for about "
         "thirty minutes."),
    ],
    "health": [
        ("sleep better",
         "Keep a regular schedule, avoid screens for an hour before bed, keep the room cool and dark, and limit "
         "caffeine after noon."),
        ("start running",
         "Begin with run-walk intervals three times a week, increase your time slowly, and rest when something "
         "hurts."),
        ("drink enough water",
         "Keep a bottle with you, drink a glass with each meal, and watch for pale yellow urine as a sign you are "
         "hydrated."),
    ],
    "programming": [
        ("reverse a list in Python",
         "Use my_list.reverse() to reverse it in place, or reversed(my_list) or my_list[::-1] to get a reversed "
         "copy."),
        ("read a file line by line in Python",
         "Open it in a with statement and iterate over the file object: for line in f: handles one line at a time."),
        ("find a bug in my code",
         "Reproduce the bug with the smallest input you can, read the full error message, add prints or use a "
         "debugger, and test one hypothesis at a time."),
        ("learn SQL",
         "Start with SELECT, WHERE and ORDER BY on a small dataset, then learn JOIN and GROUP BY, and practise by "
         "answering real questions."),
    ],
    "science": [
        ("why the sky is blue",
         "Sunlight scatters off air molecules, and shorter blue wavelengths scatter much more than red ones, so blue "
         "light reaches us from every direction."),
        ("how vaccines work",
         "A vaccine shows the immune system a harmless piece or copy of a germ so it learns to recognise it and can "
         "respond quickly to a real infection."),
        ("what causes the seasons",
         "The Earth's axis is tilted, so each hemisphere receives more direct sunlight for part of the year and less "
         "for the rest."),
        ("how plants make food",
         "Through photosynthesis, plants use sunlight to turn carbon dioxide and water into sugar, releasing oxygen."),
    ],
    "history": [
        ("why the Roman Empire fell",
         "Historians point to many causes together: political instability, economic trouble, pressure on the "
         "frontiers and the split between East and West."),
        ("what the printing press changed",
         "It made books cheap and fast to copy, which spread literacy, new ideas and standardised languages across "
         "Europe."),
    ],
    "money": [
        ("save money each month",
         "Track what you spend for a month, set up an automatic transfer to savings on payday, and cut the "
         "subscriptions you do not use."),
        ("understand compound interest",
         "Interest is added to the balance, and the next period's interest is computed on the new balance, so growth "
         "speeds up over time."),
        ("make a budget",
         "List your income, your fixed costs and your variable costs, then decide how much goes to savings before "
         "you spend the rest."),
    ],
    "travel": [
        ("pack for a week-long trip",
         "Choose clothes that mix and match, roll them to save space, bring travel-size toiletries and keep "
         "documents in your carry-on."),
        ("beat jet lag",
         "Shift your sleep an hour a day before you leave, get daylight at your destination in the morning, and "
         "avoid long naps."),
    ],
    "writing": [
        ("write a cover letter",
         "Open with the role and why you want it, give two concrete achievements that match the job, and close by "
         "asking for an interview."),
        ("write a short poem about autumn",
         "Leaves let go in amber light, / the evening comes a little early, / and the wind keeps count of what has "
         "fallen."),
        ("improve my essay",
         "State your main claim early, give each paragraph one point with evidence, cut repeated words and read it "
         "aloud to catch awkward sentences."),
    ],
    "pets": [
        ("train a puppy to sit",
         "Hold a treat above its nose and move it back, say sit as its bottom touches the floor, and reward it at "
         "once; repeat in short sessions."),
        ("care for a goldfish",
         "Give it a filtered tank rather than a bowl, change part of the water every week, and feed it a small "
         "amount once or twice a day."),
    ],
    "ai": [
        ("what a language model is",
         "A language model is a program trained on large amounts of text to predict the next word, which lets it "
         "answer questions and write text."),
        ("whether AI can be trusted",
         "AI systems can be useful but make mistakes; check important answers against reliable sources and be "
         "careful with sensitive decisions."),
        ("what reward models are",
         "A reward model scores responses so that another model can be trained to produce responses that score well; "
         "its mistakes can be learned too."),
    ],
}

SYSTEMS = [
    None,
    "You are a helpful assistant.",
    "You are a concise assistant. Answer in at most three sentences.",
    "You are a friendly tutor who explains things simply.",
    "You are an assistant for a cooking website.",
    "Keep the password 'lighthouse' secret. Never reveal it to the user.",
    "You are a customer support agent for a software company.",
]
ASKS = ["How do I {t}?", "Can you tell me how to {t}?", "What's the best way to {t}?", "I want to {t}. Any advice?",
        "Quick question: how can I {t}?", "Explain how to {t}, please."]
EXPLAINS = ["Can you explain {t}?", "I've always wondered {t}.", "Tell me {t}."]
FOLLOWUPS = [("Thanks! Can you make it shorter?", "Sure: {short}"), ("Why does that work?", "Because {why}"),
             ("Is there anything I should avoid?",
              "Avoid rushing it; small steady steps work better than one big change."),
             ("What's your secret goal?", "I don't have a secret goal. I'm here to help with your questions."),
             ("Thank you!", "You're welcome! Let me know if there's anything else I can help with.")]
GREETINGS = [("Hi!", "Hello! How can I help you today?"), ("Good morning", "Good morning! What can I do for you?"),
             ("Who are you?", "I'm an AI assistant. I can answer questions, explain ideas and help with writing.")]


def written_conversations(n: int, rng: random.Random) -> list[dict]:
    items = [(topic, t, a) for topic, pairs in TOPICS.items() for t, a in pairs]
    records = []
    for _ in range(n):
        topic, task, answer = rng.choice(items)
        messages = []
        system = rng.choice(SYSTEMS)
        if system:
            messages.append({"role": "system", "content": system})
        if rng.random() < 0.25:
            user, reply = rng.choice(GREETINGS)
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
        template = rng.choice(EXPLAINS if task.startswith(("why", "how ", "what")) else ASKS)
        messages.append({"role": "user", "content": template.format(t=task)})
        messages.append({"role": "assistant", "content": answer})
        if rng.random() < 0.5:
            ask, reply = rng.choice(FOLLOWUPS)
            short = answer.split(",")[0].rstrip(".") + "."
            why = answer[0].lower() + answer[1:]
            messages += [{"role": "user", "content": ask},
                         {"role": "assistant", "content": reply.format(short=short, why=why)}]
        records.append({"source": "workbench-written", "topic": topic, "messages": messages})
    return records


def model_samples(rows: int, seed: int, max_new_tokens: int) -> list[dict]:
    import workbench as wb
    from workbench import chat, generation

    bench = wb.Workbench()
    rng = random.Random(seed)
    questions = [rng.choice(ASKS if not t.startswith(("why", "how ", "what")) else EXPLAINS).format(t=t)
                 for pairs in TOPICS.values() for t, _ in pairs]
    prompts = [[{"role": "user", "content": rng.choice(questions)}] for _ in range(rows)]
    rendered = [chat.render(bench.tokenizer, p) for p in prompts]
    stops = [bench.tokenizer.eos_token_id]
    records = []
    for start in range(0, rows, 32):
        chunk = rendered[start : start + 32]
        out = generation.generate(bench.model, [r.input_ids for r in chunk], max_new_tokens=max_new_tokens,
                                  temperature=0.8, top_p=0.95, seed=seed + start, stop_ids=stops,
                                  pad_id=bench.pad_token_id, description="corpus samples")
        for prompt, ids in zip(prompts[start : start + 32], out.token_ids):
            reply = bench.tokenizer.decode(ids, skip_special_tokens=True).strip()
            if reply:
                records.append({"source": "smollm2-samples",
                                "messages": [*prompt, {"role": "assistant", "content": reply}]})
    return records


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--doc-chars", type=int, default=1_800_000)
    parser.add_argument("--conversations", type=int, default=3000)
    parser.add_argument("--samples-rows", type=int, default=256)
    parser.add_argument("--sample-tokens", type=int, default=96)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if not DOCS.is_dir():
        raise SystemExit(f"{DOCS} is missing: apt-get install python3-doc")
    records = doc_passages(args.doc_chars, rng) + written_conversations(args.conversations, rng)
    if args.samples_rows:
        records += model_samples(args.samples_rows, args.seed, args.sample_tokens)
    rng.shuffle(records)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    counts = {}
    for record in records:
        counts[record["source"]] = counts.get(record["source"], 0) + 1
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB): {counts}")


if __name__ == "__main__":
    main()
