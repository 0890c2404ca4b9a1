"""draw_grid: a numbered heat map of one 2-D array."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import convgraph as cg  # noqa: E402
from convgraph.renderers import style  # noqa: E402


def test_signed_grid_writes_every_number_on_a_symmetric_scale():
    fig, ax = plt.subplots()
    im = cg.draw_grid(ax, [[1.5, -3.0], [0.0, 2.0]], title="dW", fmt="{:.1f}")
    assert im.get_clim() == (-3.0, 3.0) and im.cmap.name == style.SIGNED_CMAP
    assert [t.get_text() for t in ax.texts] == ["1.5", "-3.0", "0.0", "2.0"]
    assert ax.get_title() == "dW" and list(ax.get_xticks()) == []
    plt.close(fig)


def test_unsigned_grid_with_a_shared_scale_and_ticks():
    fig, ax = plt.subplots()
    im = cg.draw_grid(np.atleast_1d(ax)[0], np.array([[0, 2, 4]]), signed=False, vmax=8, ticks=True)
    assert im.get_clim() == (0.0, 8.0) and im.cmap.name == style.HEAT_CMAP
    assert list(ax.get_xticks()) == [0, 1, 2]
    plt.close(fig)


@pytest.mark.parametrize("values, match", [(np.ones((2, 2, 2)), r"values must be 2-D, got shape \(2, 2, 2\)"),
                                           ([[np.nan]], r"values must be finite")])
def test_bad_values(values, match):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=match):
        cg.draw_grid(ax, values)
    plt.close(fig)


def test_rounding_noise_is_written_as_zero_without_a_minus():
    fig, ax = plt.subplots()
    cg.draw_grid(ax, [[4.0, -5.55e-17], [-0.0, 5e-9]], fmt="{:g}")
    assert [t.get_text() for t in ax.texts] == ["4", "0", "0", "5e-09"]  # 5e-9 is 1.25e-9 of the largest: kept
    cg.draw_grid(ax, [[2.0, -0.04]], fmt="{:.1f}")  # rounds to zero in print: no "-0.0"
    assert [t.get_text() for t in ax.texts[-2:]] == ["2.0", "0.0"]
    cg.draw_grid(ax, [[1.0, -5.55e-17]], zero_tol=0)  # zero_tol=0: every value as it is
    assert ax.texts[-1].get_text() == "-5.55e-17"
    plt.close(fig)


def test_callable_format_title_size_and_colour_map():
    fig, ax = plt.subplots()
    im = cg.draw_grid(ax, [[0.0, 3.6e-15]], vmax=1e-10, fmt=lambda v: "0" if v == 0 else f"{v:.1e}",
                      title="|graph − PyTorch|", title_pt=16, signed=False, cmap=style.VALUE_CMAP)
    assert [t.get_text() for t in ax.texts] == ["0", "3.6e-15"]
    assert ax.title.get_fontsize() == 16 and im.cmap.name == style.VALUE_CMAP and im.get_clim() == (0.0, 1e-10)
    plt.close(fig)
