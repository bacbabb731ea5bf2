"""The shared binary serializer and the request plumbing of WorkbenchWidget (no browser)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.widgets._buffers import DTYPES, from_buffer, is_payload, pack, to_buffer, unpack


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_round_trip_keeps_dtype_shape_and_bytes(dtype):
    arr = (np.arange(24) - 7).astype(dtype).reshape(2, 3, 4)
    payload = to_buffer(arr)
    assert set(payload) == {"view", "dtype", "shape"}
    assert payload["dtype"] == dtype
    assert payload["shape"] == [2, 3, 4]
    assert isinstance(payload["view"], memoryview)
    assert bytes(payload["view"]) == arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    back = from_buffer(payload)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, arr)


def test_non_contiguous_and_big_endian_arrays_are_sent_c_ordered_little_endian():
    arr = np.arange(12, dtype=">f4").reshape(3, 4).T  # transposed and big-endian
    payload = to_buffer(arr)
    assert payload["dtype"] == "float32" and payload["shape"] == [4, 3]
    assert bytes(payload["view"]) == np.ascontiguousarray(arr).astype("<f4").tobytes()


@pytest.mark.parametrize(
    ("source", "expected"),
    [("float16", "float32"), ("bool", "uint8"), ("int64", "int32"), ("uint64", "uint32")],
)
def test_types_without_a_browser_array_are_converted(source, expected):
    arr = np.array([0, 1, 1, 0], dtype=source)
    payload = to_buffer(arr)
    assert payload["dtype"] == expected
    np.testing.assert_array_equal(from_buffer(payload), arr.astype(expected))


def test_int64_out_of_int32_range_says_what_to_do():
    with pytest.raises(ValueError, match="float64"):
        to_buffer(np.array([2**40], dtype=np.int64))


def test_unsupported_dtype_lists_the_valid_ones():
    with pytest.raises(TypeError, match="valid dtypes are"):
        to_buffer(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="valid dtypes are"):
        to_buffer(np.array([1 + 2j]))


def test_scalars_empty_arrays_and_lists():
    scalar = to_buffer(np.float32(1.5))
    assert scalar["shape"] == [] and from_buffer(scalar) == np.float32(1.5)
    empty = to_buffer(np.zeros((0, 3), dtype=np.float32))
    assert empty["shape"] == [0, 3] and empty["view"].nbytes == 0
    assert from_buffer(empty).shape == (0, 3)
    listed = to_buffer([[1.0, 2.0]])
    assert listed["dtype"] == "float64" and listed["shape"] == [1, 2]


def test_torch_tensors_are_detached_and_bfloat16_becomes_float32():
    torch = pytest.importorskip("torch")
    t = torch.arange(6, dtype=torch.float32, requires_grad=True).reshape(2, 3) * 2
    payload = to_buffer(t)
    assert payload["dtype"] == "float32" and payload["shape"] == [2, 3]
    np.testing.assert_array_equal(from_buffer(payload), t.detach().numpy())
    half = to_buffer(torch.tensor([1.5, -2.0], dtype=torch.bfloat16))
    assert half["dtype"] == "float32"
    np.testing.assert_array_equal(from_buffer(half), [1.5, -2.0])
    ids = to_buffer(torch.tensor([[1, 2, 3]]))  # int64 token ids
    assert ids["dtype"] == "int32" and ids["shape"] == [1, 3]


def test_from_buffer_checks_the_byte_count():
    with pytest.raises(ValueError, match="needs 12 bytes, got 8"):
        from_buffer({"view": b"\0" * 8, "dtype": "float32", "shape": [3]})
    with pytest.raises(ValueError, match="valid dtypes"):
        from_buffer({"view": b"", "dtype": "complex64", "shape": [0]})


def test_pack_and_unpack_mirror_the_ipywidgets_wire_format():
    from ipywidgets.widgets.widget import _remove_buffers

    content = {"a": np.arange(3, dtype=np.int32), "b": [1, {"c": np.ones(2, np.float32)}], "n": np.int64(4)}
    stripped, paths, buffers = pack(content)
    assert stripped == {"a": {"dtype": "int32", "shape": [3]}, "b": [1, {"c": {"dtype": "float32", "shape": [2]}}],
                        "n": 4}
    assert paths == [["a", "view"], ["b", 1, "c", "view"]]
    assert [b.nbytes for b in buffers] == [12, 8]
    # the same split as ipywidgets makes of a trait holding payloads
    ref = _remove_buffers({"a": to_buffer(content["a"])})
    assert ref[0] == {"a": {"dtype": "int32", "shape": [3]}} and ref[1] == [["a", "view"]]
    back = unpack(stripped, paths, [bytes(b) for b in buffers])
    np.testing.assert_array_equal(back["a"], [0, 1, 2])
    np.testing.assert_array_equal(back["b"][1]["c"], [1.0, 1.0])
    assert is_payload(to_buffer(np.zeros(1))) and not is_payload({"view": [1], "dtype": "int8", "shape": [1]})


def test_unpack_refuses_mismatched_buffers():
    with pytest.raises(ValueError, match="1 buffer paths but 0 buffers"):
        unpack({"a": {}}, [["a", "view"]], [])


# --------------------------------------------------------------------------- requests


class _Comm:
    """Records what the widget sends."""

    def __init__(self, widget):
        from comm import DummyComm

        sent = self.sent = []

        class Recording(DummyComm):
            def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
                if msg_type == "comm_msg":
                    sent.append((data, [bytes(b) for b in buffers or []]))

        self.comm = Recording(comm_id=widget.model_id, target_name="jupyter.widget", primary=False)
        widget.comm = self.comm

    def request(self, content, buffers=()):
        self.comm.handle_msg(
            {"content": {"data": {"method": "custom", "content": content}}, "buffers": [memoryview(b) for b in buffers]}
        )
        (data, out_buffers), = self.sent[-1:]
        assert data["method"] == "custom"
        return data["content"], out_buffers


def test_requests_are_answered_with_buffers():
    from tests.ui.probe_widget import Probe

    probe = Probe(np.array([1, 2], np.float32), ["a"])
    comm = _Comm(probe)
    args, paths, buffers = pack({"values": np.array([1.0, -2.5], np.float32), "shape": [2], "factor": 2})
    reply, out = comm.request(
        {"kind": "wb:request", "id": "r1", "method": "scale", "args": args, "buffer_paths": paths},
        [bytes(b) for b in buffers],
    )
    assert reply["kind"] == "wb:response" and reply["id"] == "r1" and reply["ok"] is True
    result = unpack(reply["result"], reply["buffer_paths"], out)
    np.testing.assert_array_equal(result["scaled"], np.array([2.0, -5.0], np.float32))
    assert result["total"] == -3.0 and result["labels"] == ["a"]
    probe.close()


def test_a_failing_request_sends_the_error_back():
    from tests.ui.probe_widget import Probe

    probe = Probe()
    comm = _Comm(probe)
    reply, _ = comm.request({"kind": "wb:request", "id": "r2", "method": "fail", "args": {}})
    assert reply == {
        "kind": "wb:response",
        "id": "r2",
        "ok": False,
        "error": {"type": "ValueError", "message": "probe failure on purpose; the widget shows this message"},
    }
    reply, _ = comm.request({"kind": "wb:request", "id": "r3", "method": "nope", "args": {}})
    assert reply["ok"] is False and "valid requests: ['fail', 'scale']" in reply["error"]["message"]
    probe.close()


def test_other_custom_messages_are_left_alone():
    from tests.ui.probe_widget import Probe

    probe = Probe()
    comm = _Comm(probe)
    comm.comm.handle_msg({"content": {"data": {"method": "custom", "content": {"kind": "other"}}}, "buffers": []})
    assert comm.sent == []
    probe.close()

