"""The sampling view (PSNR / SSIM against the mask at equal budget) and the
masks in the gallery."""

import pytest

from benchmark_mri.report.gallery import gallery_html
from benchmark_mri.report.html import render
from benchmark_mri.report.read import load_run
from benchmark_mri.report.sampling import (
    comparable_settings,
    fractions_table,
    sampling_figure,
    sampling_points,
)

from .frames import callback_frame, sampling_frame, write


@pytest.fixture(scope="module")
def sampling_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("sampling") / "run.parquet"
    return load_run(write(sampling_frame(), path))


def test_points_put_each_row_under_its_reconstructor_and_mask(sampling_run):
    points = sampling_points(sampling_run.frame, sampling_run.labels)
    settings = comparable_settings(points)
    assert settings == ["phantom[acceleration=4,image_size=32]",
                        "phantom[acceleration=8,image_size=32]"]
    at4 = points[points["setting"] == settings[0]]
    # loupe's rows are unet's, with its learned mask, in every dataset setting.
    assert set(at4.loc[at4["solver"] == "loupe[network=unet]", "reconstructor"]) == {
        "unet"}
    assert set(at4.loc[at4["solver"] == "loupe[network=unet]", "mask"]) == {"learned"}
    assert set(at4.loc[at4["solver"] == "unet", "mask"]) == {
        "random", "equispaced", "gaussian"}
    table = fractions_table(points, settings[0])
    assert list(table.index) == ["random", "equispaced", "gaussian", "learned"]
    assert table.loc["learned", "mean"] == pytest.approx(0.25 + 0.0005)


def test_the_figure_draws_each_reconstructor_against_the_masks(sampling_run):
    points = sampling_points(sampling_run.frame, sampling_run.labels)
    fig = sampling_figure(points, "phantom[acceleration=4,image_size=32]",
                          sampling_run.colors)
    psnr = {t.name: t for t in fig.data if t.xaxis == "x"}
    assert set(psnr) == {"unet", "zero_filled"}
    unet = psnr["unet"]
    assert list(unet.x) == ["random", "equispaced", "gaussian", "learned"]
    y = dict(zip(unet.x, unet.y))
    assert y["learned"] > y["gaussian"] > y["random"] > y["equispaced"]
    # mean over the two repetitions, spread as error bars
    assert y["random"] == pytest.approx(20 + 15 * 0.705)
    assert unet.error_y.visible and max(unet.error_y.array) > 0
    assert list(psnr["zero_filled"].x) == ["random", "equispaced", "gaussian"]
    assert fig.layout.xaxis.categoryarray == ("random", "equispaced", "gaussian",
                                              "learned")


def test_the_page_has_the_view_only_when_masks_differ(sampling_run, tmp_path):
    page = render(sampling_run, tmp_path)
    assert 'id="sampling"' in page and 'href="#sampling"' in page
    assert page.count('id="sampling-') == 2  # one figure per acceleration
    plain = load_run(write(callback_frame(), tmp_path / "plain.parquet"))
    assert 'id="sampling"' not in render(plain, tmp_path)


def test_the_gallery_shows_each_solvers_mask(sampling_run):
    group = next(g for g in sampling_run.groups if "mask_type=gaussian" in g.subtitle
                 and "acceleration=4" in g.subtitle)
    page = gallery_html(group, sampling_run.colors)
    assert page.count("sampling mask") == 2 * 3  # 2 slices x 3 solvers
    assert "mask · gaussian (dataset) · 8/32 columns (25.0%)" in page
    assert "mask · learned (solver) · 8/32 columns (25.0%)" in page


def test_a_reconstructor_seen_with_one_mask_is_not_drawn(tmp_path):
    """The quickstart's case: only the U-Net has a second (learned) mask."""
    frame = sampling_frame()
    keep = ~((frame["solver_name"] == "zero_filled")
             & (frame["p_dataset_mask_type"] != "random"))
    run = load_run(write(frame[keep], tmp_path / "run.parquet"))
    points = sampling_points(run.frame, run.labels)
    fig = sampling_figure(points, "phantom[acceleration=4,image_size=32]", run.colors)
    assert {t.name for t in fig.data} == {"unet"}


def test_the_mask_name_holds_in_every_repetition_of_a_published_file(tmp_path):
    # publish keeps final_results (where the mask's name is saved) for the
    # first repetition only: the later ones still get the solver's mask name.
    frame = sampling_frame()
    frame.loc[frame["idx_rep"] == 1, "final_results"] = None
    run = load_run(write(frame, tmp_path / "run.parquet"))
    points = sampling_points(run.frame, run.labels)
    loupe = points[points["solver"] == "loupe[network=unet]"]
    assert set(loupe["idx_rep"]) == {0, 1} and set(loupe["mask"]) == {"learned"}
