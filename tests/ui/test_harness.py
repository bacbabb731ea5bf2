"""The harness itself, end to end, with the test-only Probe widget (tests/ui/probe_widget.py).

In a real JupyterLab in Chromium: a float32 trait and strings render as text, a
click goes to the kernel and back with buffers, trait changes travel both ways,
errors show in the widget, and untrusted text stays text. The same bundle is also
tested in a bare page, without Jupyter.
"""

from __future__ import annotations

import numpy as np
import pytest

XSS = "<img src=x onerror=alert(1)>"
LABELS = ["alpha", XSS, "gamma & <b>delta</b>", "  spaced\ttab"]

SETUP = f"""\
import numpy as np
from tests.ui.probe_widget import Probe

probe = Probe(np.array([[0.5, 1.5], [2.0, -3.25]], dtype=np.float32), {LABELS!r})
probe.observe(lambda change: setattr(probe, "labels", [*probe.labels, f"clicks={{change.new}}"]), "clicks")
probe"""


def test_probe_in_jupyterlab_round_trips_through_the_kernel(lab, screenshot):
    page = lab.run_cells([SETUP], wait_for=".probe-root .probe-label")
    root = page.locator(".jp-OutputArea-output .probe-root")

    assert root.locator(".probe-label").all_text_contents() == LABELS
    assert root.locator(".probe-values").text_content() == "float32 [2,2]: 0.5 1.5 2 -3.25"

    # custom message with a buffer, answered by Python with a buffer
    root.locator(".probe-ask").click()
    scaled = root.locator(".probe-scaled")
    scaled.wait_for()
    assert scaled.text_content() == "float32 [2,2]: 1 3 4 -6.5"
    assert root.locator(".probe-total").text_content() == " total=1.5"
    assert root.locator(".probe-echo").all_text_contents() == LABELS

    # a trait set in the page reaches Python, whose answer comes back as a trait
    root.locator(".probe-click").click()
    root.locator(".probe-label", has_text="clicks=1").wait_for()

    # an exception in a Python handler is shown in the widget
    root.locator(".probe-fail").click()
    error = root.locator(".wb-error")
    error.wait_for()
    assert error.text_content() == "ValueError: probe failure on purpose; the widget shows this message"

    screenshot(page)
    assert lab.page_errors == []
    assert lab.dialogs == []


def test_untrusted_text_stays_text_in_jupyterlab(lab, screenshot):
    cells = [
        "from tests.ui.probe_widget import Probe\n"
        f"Probe(labels=[{XSS!r}, '<script>alert(2)</script>', '<b onmouseover=alert(3)>bold</b>'])"
    ]
    page = lab.run_cells(cells, wait_for=".probe-root .probe-label")
    root = page.locator(".jp-OutputArea-output .probe-root")
    labels = root.locator(".probe-label")
    assert labels.all_text_contents() == [XSS, "<script>alert(2)</script>", "<b onmouseover=alert(3)>bold</b>"]
    labels.nth(2).hover()
    assert root.locator("img, script, b").count() == 0
    assert page.locator("img[src='x']").count() == 0
    screenshot(page)
    assert lab.dialogs == []


@pytest.fixture
def probe():
    from tests.ui.probe_widget import Probe

    widget = Probe(np.array([0.25, -1.0, 8.0], dtype=np.float32), LABELS)
    yield widget
    widget.close()


def test_probe_in_a_bare_page_with_its_python_widget(bare_widget, probe, screenshot):
    bare = bare_widget("probe", widget=probe)
    root = bare.page.locator(".probe-root")
    root.wait_for()
    assert root.locator(".probe-label").all_text_contents() == LABELS
    assert root.locator(".probe-values").text_content() == "float32 [3]: 0.25 -1 8"
    assert root.locator("img").count() == 0

    root.locator(".probe-ask").click()
    root.locator(".probe-scaled").wait_for()
    assert root.locator(".probe-scaled").text_content() == "float32 [3]: 0.5 -2 16"
    request, buffers = bare.sent[-1]
    assert request["content"]["method"] == "scale"
    assert request["content"]["buffer_paths"] == [["values", "view"]]
    np.testing.assert_array_equal(np.frombuffer(buffers[0], np.float32), [0.25, -1.0, 8.0])

    root.locator(".probe-click").click()
    assert probe.clicks == 1 and bare.saves() == 1

    # Python-side changes reach the page once flushed
    probe.labels = ["changed"]
    bare.flush()
    assert root.locator(".probe-label").all_text_contents() == ["changed"]

    root.locator(".probe-fail").click()
    root.locator(".wb-error").wait_for()
    assert root.locator(".wb-error").text_content().startswith("ValueError: probe failure")

    screenshot(bare.page)
    assert bare.blocked == [] and bare.dialogs == [] and bare.js_errors() == []


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "int8", "int16", "int32", "uint8", "uint16", "uint32", "int64", "bool"]
)
def test_decoder_in_a_bare_page_matches_the_serializer(bare_widget, dtype):
    from workbench.widgets._buffers import to_buffer

    bare = bare_widget("probe", state={"values": to_buffer(np.zeros(0, np.float32)), "labels": [], "clicks": 0})
    arr = np.array([[0, 1, 2], [3, 4, 100]]).astype(dtype)
    bare.set_state(values=to_buffer(arr))
    sent_dtype = to_buffer(arr)["dtype"]
    values = " ".join(str(int(v)) for v in arr.ravel())
    assert bare.page.locator(".probe-values").text_content() == f"{sent_dtype} [2,3]: {values}"
    assert bare.js_errors() == []


def test_decoder_edge_cases_in_a_bare_page(bare_widget):
    from workbench.widgets._buffers import to_buffer

    bare = bare_widget("probe", state={"values": to_buffer(np.zeros(0, np.float32)), "labels": [], "clicks": 0})
    result = bare.page.evaluate(
        """async () => {
          const { decode, encode, pack, unpack } = await import('/bundle.js');
          const out = {};
          // unaligned float32 bytes at offset 1 of a DataView: decoded from a copy
          const bytes = new Uint8Array(9);
          new DataView(bytes.buffer).setFloat32(1, 1.5, true);
          new DataView(bytes.buffer).setFloat32(5, -2, true);
          out.unaligned = Array.from(
            decode({ view: new DataView(bytes.buffer, 1, 8), dtype: 'float32', shape: [2] }).data);
          // an ArrayBuffer works as well as a DataView
          out.arraybuffer = Array.from(
            decode({ view: new Int16Array([7, -7]).buffer, dtype: 'int16', shape: [2] }).data);
          // wrong byte counts and dtypes say what is wrong
          try { decode({ view: new ArrayBuffer(4), dtype: 'float32', shape: [2] }); }
          catch (e) { out.short = e.message; }
          try { decode({ view: new ArrayBuffer(4), dtype: 'complex', shape: [1] }); }
          catch (e) { out.dtype = e.message; }
          // encode + pack + unpack + decode is the identity
          const packed = pack({ a: encode(new Uint32Array([1, 2, 3, 4]), [2, 2]), n: 1 });
          const back = unpack(packed.content, packed.bufferPaths, packed.buffers);
          out.packed = { paths: packed.bufferPaths, n: back.n, shape: decode(back.a).shape,
                         data: Array.from(decode(back.a).data) };
          return out;
        }"""
    )
    assert result["unaligned"] == [1.5, -2]
    assert result["arraybuffer"] == [7, -7]
    assert result["short"] == "decode: a float32 payload of shape [2] needs 8 bytes, got 4"
    assert result["dtype"].startswith('decode: unknown dtype "complex"; valid dtypes are float32')
    assert result["packed"] == {"paths": [["a", "view"]], "n": 1, "shape": [2, 2], "data": [1, 2, 3, 4]}


def test_bare_page_records_what_the_front_end_sends(bare_widget):
    from workbench.widgets._buffers import to_buffer

    bare = bare_widget(
        "probe", state={"values": to_buffer(np.array([1, 2], np.float32)), "labels": [XSS], "clicks": 0}
    )
    assert bare.page.locator(".probe-label").text_content() == XSS
    bare.page.locator(".probe-click").click()
    bare.page.wait_for_function("() => window.wbSent.length === 1")
    (data, buffers), = bare.sent
    assert data == {"method": "update", "state": {"clicks": 1}, "buffer_paths": []} and buffers == []
    assert bare.state()["clicks"] == 1

    bare.page.locator(".probe-ask").click()
    bare.page.wait_for_function("() => window.wbSent.length === 2")
    data, buffers = bare.sent[1]
    request = data["content"]
    assert request["kind"] == "wb:request" and request["method"] == "scale"
    # answer by hand, as a kernel would
    bare.send_to_view(
        {"kind": "wb:response", "id": request["id"], "ok": True, "buffer_paths": [["scaled", "view"]],
         "result": {"scaled": {"dtype": "float32", "shape": [1]}, "total": 9, "labels": ["by hand"]}},
        [np.array([9], np.float32).tobytes()],
    )
    bare.page.locator(".probe-echo").wait_for()
    assert bare.page.locator(".probe-scaled").text_content() == "float32 [1]: 9"
    assert bare.page.locator(".probe-echo").text_content() == "by hand"
    assert bare.dialogs == [] and bare.page.locator("img").count() == 0
