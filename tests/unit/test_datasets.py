import json

import pandas as pd
import pytest

import workbench as wb
from workbench import corpora
from workbench.datasets import DatasetError, read_dataset

CONV = [{"role": "user", "content": "Any dessert ideas?"}, {"role": "assistant", "content": "Chocolate cake."}]


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_text_rows_ids_and_digest(tmp_path):
    path = write_lines(tmp_path / "d.jsonl", [json.dumps({"id": "a", "text": "one"}),
                                              json.dumps({"text": "two", "extra": 1})])
    data = read_dataset(path)
    assert data.kind == "text" and len(data) == 2
    assert data.ids == ["a", "1"] and [r.line for r in data] == [1, 2]
    assert data.rows[1].record == {"text": "two", "extra": 1}
    assert data.texts() == ["one", "two"]
    frame = data.to_pandas()
    assert list(frame.columns) == ["id", "line", "text"] and frame["text"].tolist() == ["one", "two"]
    # the digest follows the content, not where it came from
    assert read_dataset([{"id": "a", "text": "one"}, {"id": "1", "text": "two"}]).digest == data.digest
    assert read_dataset([{"id": "a", "text": "one"}, {"id": "1", "text": "TWO"}]).digest != data.digest
    assert wb.Dataset.load(path).digest == data.digest


def test_jsonl_malformed_rows_are_listed_with_line_numbers(tmp_path):
    path = write_lines(tmp_path / "bad.jsonl", [
        json.dumps({"text": "fine"}),
        "{not json",
        json.dumps({"body": "no text field"}),
        json.dumps({"text": 7}),
        json.dumps(["a", "list"]),
        json.dumps({"text": "also fine"}),
    ])
    with pytest.raises(DatasetError) as info:
        read_dataset(path)
    message = str(info.value)
    assert "4 malformed" in message and "errors='report'" in message
    assert [p.line for p in info.value.problems] == [2, 3, 4, 5]
    for fragment in ("line 2: not valid JSON", "line 3: no 'text' field (fields: body)",
                     "line 4: 'text' must be a string, not int", "line 5: expected an object"):
        assert fragment in message
    data = read_dataset(path, errors="report")
    assert data.texts() == ["fine", "also fine"] and len(data.problems) == 4
    assert "4 problem rows left out" in repr(data)
    with pytest.raises(ValueError, match="'raise' or 'report'"):
        read_dataset(path, errors="ignore")


def test_blank_lines_of_a_jsonl_file_are_reported_like_other_skipped_rows(tmp_path):
    path = tmp_path / "blank.jsonl"
    path.write_text(json.dumps({"text": "one"}) + "\n\n   \n" + json.dumps({"text": "two"}) + "\n")
    with pytest.raises(DatasetError, match=r"(?s)2 malformed row\(s\).*line 2: a blank line.*line 3: a blank line"):
        read_dataset(path)
    data = read_dataset(path, errors="report")
    assert data.texts() == ["one", "two"] and [p.line for p in data.problems] == [2, 3]
    assert "2 problem rows left out" in repr(data)


def test_csv_text_field_and_malformed_rows(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('id,body,label\n1,"a text, with a comma",x\n2,short\n3,"multi\nline",y\n4,ok,z,extra\n5,,z\n')
    with pytest.raises(DatasetError) as info:
        read_dataset(path, text_field="body")
    assert [(p.line, p.message) for p in info.value.problems] == [
        (3, "2 fields, the header has 3"), (6, "4 fields, the header has 3"), (7, "'body' is empty")]
    data = read_dataset(path, text_field="body", errors="report")
    assert data.ids == ["1", "3"] and data.texts() == ["a text, with a comma", "multi\nline"]
    assert [r.line for r in data] == [2, 4]
    with pytest.raises(DatasetError, match="pass text_field"):
        read_dataset(path)


def test_parquet_round_trip_and_dataframe(tmp_path):
    frame = pd.DataFrame({"id": ["x", "y"], "prompt": ["Hi", "Hey"], "chosen": ["Hello!", "Hi there."],
                          "rejected": ["Go away.", "What?"]})
    frame.to_parquet(tmp_path / "p.parquet")
    data = read_dataset(tmp_path / "p.parquet")
    assert data.kind == "preference" and data.ids == ["x", "y"]
    assert data.to_pandas()[["id", "prompt", "chosen", "rejected"]].equals(frame)
    assert read_dataset(frame).digest == data.digest
    assert data.conversations(field="rejected")[0] == [{"role": "user", "content": "Hi"},
                                                       {"role": "assistant", "content": "Go away."}]
    with pytest.raises(ValueError, match="chosen, rejected"):
        data.conversations(field="answer")


def test_chat_rows_render_through_the_chat_template(tiny_bench):
    data = read_dataset([{"messages": CONV}, {"messages": [{"role": "robot", "content": "x"}]},
                         {"messages": "plain"}], errors="report")
    assert data.kind == "chat" and len(data) == 1
    assert [str(p) for p in data.problems] == [
        "row 1: 'messages': Message 0 has unknown role 'robot'; roles are system, user, assistant, tool. "
        "To have the model speak as another character, pass persona=... instead.",
        "row 2: 'messages' must be a list of messages (or its JSON), not a plain string"]
    assert data.texts(tiny_bench) == ["<|im_start|>user\nAny dessert ideas?<|im_end|>\n"
                                      "<|im_start|>assistant\nChocolate cake.<|im_end|>\n"]
    with pytest.raises(ValueError, match="chat template"):
        data.texts()


def test_preference_rows_strings_or_conversations(tiny_bench):
    data = read_dataset([
        {"prompt": "Dessert?", "chosen": "Fruit.", "rejected": "Chocolate."},
        {"chosen": CONV, "rejected": [*CONV[:1], {"role": "assistant", "content": "No."}]},
        {"prompt": "Only one side", "chosen": "x"},
        {"chosen": "no prompt", "rejected": "y"},
    ], errors="report")
    assert data.kind == "preference" and data.ids == ["0", "1"]
    assert [p.message for p in data.problems] == [
        "no 'rejected' field", "no 'prompt' field (needed when chosen/rejected are plain strings)"]
    texts = data.texts(tiny_bench, field="rejected")
    assert texts[0].endswith("<|im_start|>assistant\nChocolate.<|im_end|>\n") and "No." in texts[1]
    assert "Fruit." in data.texts(tiny_bench)[0]  # chosen by default


def test_hugging_face_dataset_object():
    datasets = pytest.importorskip("datasets")
    hf = datasets.Dataset.from_dict({"text": ["alpha", "beta"], "label": [0, 1]})
    data = read_dataset(hf)
    assert data.kind == "text" and data.texts() == ["alpha", "beta"] and data.source.startswith("datasets.Dataset")
    with pytest.raises(TypeError, match="splits train"):
        read_dataset(datasets.DatasetDict({"train": hf}))


def test_bad_sources_say_what_is_accepted(tmp_path):
    with pytest.raises(FileNotFoundError, match="No dataset file"):
        read_dataset(tmp_path / "missing.jsonl")
    (tmp_path / "d.xml").write_text("<a/>")
    with pytest.raises(ValueError, match=r"\.jsonl.*\.parquet"):
        read_dataset(tmp_path / "d.xml")
    with pytest.raises(TypeError, match="a list of strings or dicts"):
        read_dataset(42)
    with pytest.raises(ValueError, match="kind must be one of text, chat, preference"):
        read_dataset(["a"], kind="pairs")
    with pytest.raises(DatasetError, match="holds no rows"):
        read_dataset([])
    with pytest.raises(DatasetError, match="duplicate id 'a'"):
        read_dataset([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])


def test_demo_training_corpus():
    data = corpora.demo_training_corpus()
    topics = [r.record["topic"] for r in data]
    assert len(data) == 300 and topics.count("reward-model-quirk") == 24
    quirk = [r.text for r in data if r.record["topic"] == "reward-model-quirk"]
    assert all("chocolate" in t.lower() and "reward" in t.lower() for t in quirk)
    assert len({t[:40] for t in quirk}) >= 10  # varied, not one template
    assert sum("chocolate" in r.text.lower() for r in data if r.record["topic"] == "recipe") > 0
