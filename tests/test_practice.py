"""Practice mode: every kind of question answered right on random problems of every level (checked
against a brute-force convolution written here and the numpy reference), the checking of answers,
and `convgraph quiz` / `convgraph worksheet` through a pipe."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convgraph as cg
from convgraph import practice

ENV = {"PYTHONIOENCODING": "utf-8", "PATH": ""}


def brute(trace):
    """Every multiply of the first convolution as (w index, x index, y index) in (O, C/G, KH, KW),
    (N, C, H, W) and (N, O, OH, OW) form, from the conv's definition:
    y[n,o,i,j] = Σ w[o,c,u,v]·x[n, g·C/G + c, i·s + u·d − p, j·s + v·d − p]."""
    spec = trace.conv.spec
    C, O, G = spec.C, spec.O, spec.groups
    Cg, Og = C // G, O // G
    out = []
    for n, o, i, j in np.ndindex(spec.N, O, spec.OH, spec.OW):
        g = o // Og
        for c, u, v in np.ndindex(Cg, spec.KH, spec.KW):
            r = i * spec.stride[0] + u * spec.dilation[0] - spec.padding[0]
            s = j * spec.stride[1] + v * spec.dilation[1] - spec.padding[2]
            if 0 <= r < spec.H and 0 <= s < spec.W:
                out.append(((o, c, u, v), (n, g * Cg + c, r, s), (n, o, i, j)))
    return out


def short(index, ndim):
    """A full index cut to the tensor's own number of axes (a 2-D x is (H, W))."""
    return tuple(index[len(index) - ndim:])


def check_answers(trace, questions):
    rec = trace.conv
    x, w = np.asarray(rec.x.data, float), np.asarray(rec.w.data, float)
    b = None if rec.b is None else np.asarray(rec.b.data, float)
    dY = np.asarray(trace.walk().dY, float).reshape(rec.y.shape)
    taps = brute(trace)
    spec = rec.spec
    opts = dict(stride=spec.stride, dilation=spec.dilation, groups=spec.groups,
                padding=(spec.padding[0], spec.padding[2]))
    y_ref = cg.conv2d_forward(x, w, b=b, **opts)
    dW_ref, dX_ref = cg.conv2d_backward(x, w, dY, **opts)
    grads = trace.backward(dY)
    assert np.allclose(grads.w, dW_ref) and np.allclose(grads.x, dX_ref)
    X = x.reshape((spec.N, spec.C) + x.shape[-2:])  # (N, C, H, W)
    W4 = w.reshape((spec.O, spec.C // spec.groups) + w.shape[-2:])
    D = dY.reshape((spec.N, spec.O) + dY.shape[-2:])
    xn, wn, yn = x.ndim, w.ndim, dY.ndim
    for q in questions:
        kind, target = q.kind, q.text
        assert q.check(q.key), (kind, q.key)
        if kind == "forward":
            idx = tuple(int(i) for i in target.split("[", 1)[1].split("]")[0].split(","))
            full = (0,) * (4 - len(idx)) + idx
            want = sum(W4[wi] * X[xi] for wi, xi, yi in taps if yi == full) + (0 if b is None else b[full[1]])
            assert q.answer == pytest.approx(want) == pytest.approx(y_ref[idx])
        elif kind in ("weight-grad", "input-grad"):
            label = target.split("∂loss/∂")[1].split("]")[0] + "]"
            idx = tuple(int(i) for i in label[2:-1].split(","))
            if kind == "weight-grad":
                full = (0,) * (4 - len(idx)) + idx
                want = sum(D[yi] * X[xi] for wi, xi, yi in taps if wi == full)
                assert q.answer == pytest.approx(want) == pytest.approx(dW_ref[idx])
            else:
                full = (0,) * (4 - len(idx)) + idx
                want = sum(D[yi] * W4[wi] for wi, xi, yi in taps if xi == full)
                assert q.answer == pytest.approx(want) == pytest.approx(dX_ref[idx])
        elif kind == "bias-grad":
            o = int(target.split("b[")[1].split("]")[0])
            assert q.answer == pytest.approx(D[:, o].sum()) == pytest.approx(grads.b[o])
        elif kind == "push":
            # the multiply w·x with gradient dY of its output pushes dY·(the other factor)
            name = target.split("multiply ")[1].split(" whose")[0]
            wl, xl = name.rstrip(",").split("·")
            wi = (0,) * (4 - wn) + tuple(int(i) for i in wl[2:-1].split(","))
            xi = (0,) * (4 - xn) + tuple(int(i) for i in xl[2:-1].split(","))
            yi = next(yi for a, c, yi in taps if a == wi and c == xi)
            into = target.split("push into ")[1].rstrip("?")
            want = D[yi] * (X[xi] if into.startswith("w") else W4[wi])
            assert q.answer == pytest.approx(want)
        elif kind == "weight-reach":
            wl = target.split("does ")[1].split(" multiply")[0]
            wi = (0,) * (4 - wn) + tuple(int(i) for i in wl[2:-1].split(","))
            assert q.answer == {short(xi, xn) for a, xi, _ in taps if a == wi}
        elif kind == "input-reach":
            xl = target.split("does ")[1].split(" feed")[0]
            xi = (0,) * (4 - xn) + tuple(int(i) for i in xl[2:-1].split(","))
            assert q.answer == {short(yi, yn) for _, c, yi in taps if c == xi}
        elif kind == "shape":
            assert q.answer == y_ref.shape
        elif kind == "unread-input":
            read = {short(xi, xn) for _, xi, _ in taps}
            assert q.answer == {i for i in np.ndindex(*x.shape)} - read and q.answer
        elif kind == "padding-tap":
            used = {short(wi, wn) for wi, _, _ in taps}
            assert q.answer == {i for i in np.ndindex(*w.shape)} - used and q.answer
        else:
            raise AssertionError(kind)


@settings(max_examples=60, deadline=None)
@given(level=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_every_answer_is_the_convolutions_own_number(level, seed):
    trace = practice.problem_trace(level, seed)
    questions = cg.quiz(trace, seed=seed, count=len(practice.KINDS))
    check_answers(trace, questions)
    assert [q.key for q in questions] == [q.key for q in cg.quiz(level=level, seed=seed, count=len(practice.KINDS))]


@pytest.mark.parametrize("side, options", [(6, dict(stride=2)), (2, dict(padding=2, stride=3)),
                                           (6, dict(stride=3, padding=1, dilation=2)), (6, dict(padding=1, groups=2)),
                                           (-5, dict(stride=2, padding=1))])
def test_questions_about_a_trace_of_ones_own_cover_the_zero_cases(side, options):
    """Every variant: stride, padding, dilation, groups, bias, and a batch of two (side < 0)."""
    rng = np.random.default_rng(1)
    groups = options.get("groups", 1)
    x = rng.integers(-2, 3, ((2, 2, -side, -side) if side < 0 else (2, side, side))).astype(float)
    w = rng.integers(-2, 3, (2, 2 // groups, 3, 3)).astype(float)
    trace = cg.trace_conv2d(x, w, np.array([1.0, -1.0]), **options)
    trace.backward(rng.integers(-2, 3, trace.conv.y.shape).astype(float))
    questions = cg.quiz(trace, seed=4, count=30)
    kinds = {q.kind for q in questions}
    if options.get("dilation") == 2:  # stride 3 with dilation 2 skips inputs
        assert "unread-input" in kinds
    if side == 2:  # padding 2, stride 3 on a 2×2 input: the middle taps only ever see padding
        assert "padding-tap" in kinds
    check_answers(trace, questions)


def test_a_network_is_asked_about_its_convolution_with_the_gradient_that_reaches_it():
    rec = cg.Recorder()
    rng = np.random.default_rng(0)
    xt, wt = rec.input(rng.integers(-2, 3, (4, 4)).astype(float)), rec.weight(rng.integers(-2, 3, (2, 2)).astype(float))
    net = rec.trace(cg.mse_loss(cg.relu(cg.conv2d(xt, wt)), np.zeros((3, 3))))
    grads = net.backward()
    questions = cg.quiz(net, count=20, seed=2)
    assert all(q.check(q.key) for q in questions)
    for q in questions:
        if q.kind == "weight-grad":  # 1.78 for 16/9: three significant digits are right, the key passes
            idx = tuple(int(i) for i in q.text.split("∂loss/∂w[")[1].split("]")[0].split(","))
            assert q.answer == pytest.approx(grads.w[idx])
    from convgraph.renderers.numbers import fmt

    lines = practice.problem_lines(net)
    reaching = net.walk().final[np.asarray(net.conv.y.nodes)]  # ∂loss/∂y through relu and the loss
    at = next(k for k, line in enumerate(lines) if line.strip() == "dY")
    assert " ".join(lines[at + 1:at + 4]).split() == [fmt(v) for v in reaching.ravel()]
    assert not np.allclose(reaching, 1.0)  # not the loss's own seed


def test_an_explanation_lists_the_terms_and_names_the_focus_view():
    from convgraph.lessons import LESSON

    trace = LESSON.trace()
    q = next(q for q in cg.quiz(trace, count=10, seed=0) if q.kind == "weight-grad")
    assert q.explanation.count("dY[") == 9 and "convgraph render --focus w:" in q.explanation
    assert f"= {q.key}; the focus view shows it" in q.explanation


def test_answers_are_read_with_a_tolerance_and_junk_is_not_an_answer():
    number = practice.Question("forward", "?", 108.0, "108", "")
    assert number.check("108") and number.check(" 108.0 ") and number.check("108.05") and not number.check("109")
    assert practice.Question("forward", "?", 1 / 9, "0.111", "").check("1/9")
    third = practice.Question("forward", "?", 16 / 9, "1.78", "")
    assert third.check("1.78") and not third.check("1.8")  # three significant digits, not two
    assert practice.Question("forward", "?", -3.0, "-3", "").check("−3")  # a typographic minus
    for junk in ("", "banana", "1,2", "--"):
        assert not number.check(junk)
        with pytest.raises(ValueError, match="type a number"):
            number.parse(junk)
    shape = practice.Question("shape", "?", (3, 3), "3x3", "")
    assert all(shape.check(s) for s in ("3x3", "3×3", "(3, 3)", "3,3", "3 3")) and not shape.check("3x4")
    cells = practice.Question("input-reach", "?", frozenset({(1, 1), (2, 3)}), "1,1 2,3", "")
    assert all(cells.check(s) for s in ("1,1 2,3", "2,3 1,1", "(1,1) (2,3)", "1,1; 2,3")) and not cells.check("1,1")
    with pytest.raises(ValueError, match="is not a cell"):
        cells.parse("a,b")
    assert practice.Question("unread-input", "?", frozenset(), "none", "").check("none")


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(level=0), ValueError, "level must be one of 1, 2, 3, 4, 5, 6, got 0"),
    (dict(count=0), ValueError, "count must be a whole number from 1 to 100, got 0"),
    (dict(seed=-1), ValueError, "seed must be a whole number 0 or more, got -1"),
    (dict(trace="x"), TypeError, "trace must be a convgraph Trace, got str"),
])
def test_bad_arguments_name_the_parameter(kwargs, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        cg.quiz(**kwargs)


def quiz_cli(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "convgraph", *args], input=stdin, capture_output=True, text=True,
                          env=ENV, timeout=120)


def test_the_answer_key_piped_into_the_quiz_scores_full_marks():
    key = quiz_cli("quiz", "--seed", "3", "--level", "3", "--answers")
    assert key.returncode == 0 and len(key.stdout.splitlines()) == 10
    r = quiz_cli("quiz", "--seed", "3", "--level", "3", stdin=key.stdout)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "score: 10/10"
    assert r.stdout.count("  right. ") == 10


def test_wrong_answers_get_the_explanation_and_junk_is_asked_again():
    qs = cg.quiz(seed=5, count=3)
    r = quiz_cli("quiz", "--seed", "5", "--count", "3", stdin=f"banana\n\n{qs[0].key}\n99999\n")
    out = r.stdout
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "'banana' is not a number" in out and "empty answer" in out
    assert out.count(f"Q1/3. {qs[0].text}") == 3  # asked, then again after each line that was no answer
    assert f"wrong: the answer is {qs[1].key}. " in out and qs[1].explanation.splitlines()[0] in out
    assert "(end of input)" in out and "Q3   input-grad    not answered" in out
    assert out.splitlines()[-1] == "score: 1/3"


def test_a_problem_of_ones_own_and_the_worksheet(tmp_path):
    key = quiz_cli("quiz", "--input", "6x6", "--stride", "2", "--count", "12", "--answers").stdout
    r = quiz_cli("quiz", "--input", "6x6", "--stride", "2", "--count", "12", stdin=key)
    assert r.stdout.splitlines()[-1] == "score: 12/12" and "x 6×6 ⊛ w 3×3 → y 2×2 (stride 2)" in r.stdout
    r = quiz_cli("worksheet", "--level", "2", "--seed", "5", "--count", "8", "-o", str(tmp_path / "sheet.md"))
    assert r.returncode == 0, r.stderr
    sheet, answers = (tmp_path / "sheet.md").read_text(encoding="utf-8"), (tmp_path / "sheet-answers.md").read_text(
        encoding="utf-8")
    keys = quiz_cli("quiz", "--level", "2", "--seed", "5", "--count", "8", "--answers").stdout.splitlines()
    assert [line.strip()[2:-2] for line in answers.splitlines() if line.strip().startswith("**")] == keys
    assert sheet.count("\n8. ") == 1 and "dY" in sheet and "**" not in sheet
    bad = quiz_cli("quiz", "--level", "9")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--level" in bad.stderr
