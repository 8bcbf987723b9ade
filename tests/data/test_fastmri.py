"""Reading fastMRI files: layout, padding, targets, errors, memory."""

import tracemalloc

import h5py
import numpy as np
import pytest
import torch

from benchmark_mri.data import measure, volume_mask
from benchmark_mri.data.fake_fastmri import header, make_tree, write_volume
from benchmark_mri.data.fastmri import (
    FastMRIFileError,
    find_root,
    inspect_file,
    list_files,
    parse_header,
    read_volume,
    select_slices,
)
from benchmark_mri.data.fastmri_splits import (
    UNAVAILABLE,
    anatomy_split,
    folder_split,
)
from benchmark_mri.data.transforms import center_crop
from benchmark_mri.physics import CartesianSampling, ifft2c, rss

from ..conftest import SHARED_DATA

REAL = SHARED_DATA / "fastmri_format"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("fastmri"))


def test_header_padding_is_fastmris():
    # A real fastMRI knee header: encoded 640 x 368, recon 320 x 320,
    # kspace_encoding_step_1 center 168, maximum 346.
    xml = header((640, 368), (320, 320), (16, 363))
    assert "<center>168</center>" in xml and "<maximum>346</maximum>" in xml
    h = parse_header(xml, (1, 15, 640, 368), "f.h5")
    assert h.encoding_size == (640, 368) and h.recon_size == (320, 320)
    assert h.acquired_columns == (16, 363)  # 368 // 2 - 168, + 346 + 1
    # Limits past the grid are clipped; limits that miss the centre are an error.
    assert parse_header(header((640, 368), (320, 320), (16, 370)), (640, 368),
                        "f.h5").acquired_columns == (16, 368)
    with pytest.raises(FastMRIFileError, match="f.h5: .* miss the k-space centre"):
        parse_header(header((640, 368), (320, 320), (0, 100)), (640, 368), "f.h5")


def test_multicoil_volume(tree):
    path = tree / "knee" / "multicoil_val" / "file1003.h5"
    info = inspect_file(path, "multicoil")
    assert info.challenge == "multicoil" and info.shape == (3, 4, 64, 48)
    assert info.acquisition in ("CORPD_FBK", "CORPDFS_FBK")
    v = read_volume(info)
    assert v.name == "file1003" and v.acquired_columns == (4, 46)
    assert v.kspace.shape == (3, 4, 64, 48) and v.kspace.dtype == torch.complex64
    with h5py.File(path) as f:
        assert np.array_equal(v.kspace.numpy(), f["kspace"][()])
        assert np.array_equal(v.target.numpy(), f["reconstruction_rss"][()])
    assert v.target.shape == (3, 32, 32) and v.target.dtype == torch.float32


def test_singlecoil_volume_has_one_coil(tree):
    path = tree / "knee" / "singlecoil_val" / "file1003.h5"
    v = read_volume(inspect_file(path, "singlecoil"))
    assert v.kspace.shape == (3, 1, 64, 48)
    with h5py.File(path) as f:
        assert np.array_equal(v.kspace[:, 0].numpy(), f["kspace"][()])
        assert np.array_equal(v.target.numpy(), f["reconstruction_esc"][()])


def test_central_slices(tree):
    assert select_slices(35, 8) == slice(13, 21)
    assert select_slices(3, None) == slice(0, 3) == select_slices(3, 10)
    path = tree / "knee" / "multicoil_val" / "file1003.h5"
    v = read_volume(inspect_file(path), n_slices=1)
    with h5py.File(path) as f:
        assert np.array_equal(v.kspace.numpy(), f["kspace"][1:2])


def test_target_crop_is_capped_at_320(tmp_path):
    # Recon size 400 x 352 > 320: cropped to 320 (fastMRI's); k-space 448 x 352.
    path = write_volume(tmp_path / "big.h5", 0, n_slices=1, n_coils=2,
                        size=(448, 352), recon=(400, 352), padding=None)
    assert read_volume(inspect_file(path)).target.shape == (1, 320, 320)


def test_missing_target_is_the_rss_of_the_kspace(tmp_path):
    path = write_volume(tmp_path / "f.h5", 0, with_target=False)
    v = read_volume(inspect_file(path))
    expected = center_crop(rss(ifft2c(v.kspace)), (32, 32))
    assert torch.allclose(v.target, expected)


def test_padding_columns_are_never_sampled(tree):
    v = read_volume(inspect_file(tree / "knee" / "multicoil_val" / "file1003.h5"))
    sampling = CartesianSampling("random", 4)
    mask = volume_mask(v, sampling)
    full = sampling.mask(v.name, 3, 48)
    assert not mask[..., :4].any() and not mask[..., 46:].any()
    assert torch.equal(mask[..., 4:46], full[..., 4:46])  # the same draw inside
    m = measure(v, sampling, keep_target=False, smaps="espirit")
    assert (m.y[..., :4] == 0).all() and m.smaps.shape == m.y.shape


def test_anatomy_split_takes_train_and_val(tree):
    data = anatomy_split(tree, "knee", "multicoil", 2, 3, n_slices=2)
    assert [v.name for v in data["train"]] == ["file1001", "file1002"]
    assert [v.name for v in data["test"]] == ["file1003", "file1004", "file1005"]
    assert all(v.n_slices == 2 for v in data["train"] + data["test"])
    pdfs = anatomy_split(tree, "knee", "multicoil", 0, 1, acquisition="CORPDFS_FBK")
    assert [v.name for v in pdfs["test"]] == ["file1004"]
    brain = anatomy_split(tree, "brain", "multicoil", 1, 1)
    assert brain["test"][0].read().kspace.shape == (3, 6, 40, 40)


def test_data_root(tree, tmp_path, monkeypatch):
    monkeypatch.delenv("FASTMRI_ROOT", raising=False)
    missing = tmp_path / "nowhere"
    data = anatomy_split(missing, "knee")
    assert set(data) == {UNAVAILABLE}
    assert "FASTMRI_ROOT" in data[UNAVAILABLE] and "data_paths" in data[UNAVAILABLE]
    assert str(missing) in data[UNAVAILABLE]
    # FASTMRI_ROOT wins over the configured path, and must exist.
    monkeypatch.setenv("FASTMRI_ROOT", str(tree))
    assert find_root(missing) == tree
    monkeypatch.setenv("FASTMRI_ROOT", str(missing))
    with pytest.raises(FastMRIFileError, match=f"FASTMRI_ROOT={missing}: no such"):
        anatomy_split(None, "knee")
    # A root without the anatomy's folder: that dataset is unavailable.
    monkeypatch.setenv("FASTMRI_ROOT", str(tree / "knee"))
    assert set(anatomy_split(None, "brain")) == {UNAVAILABLE}


def test_bad_parameters_are_named(tree):
    with pytest.raises(ValueError, match="acquisition='AXT2' is not a fastMRI knee"):
        anatomy_split(tree, "knee", acquisition="AXT2")
    with pytest.raises(ValueError, match="n_test_volumes must be an integer >= 0"):
        anatomy_split(tree, "knee", n_test_volumes=-1)
    with pytest.raises(FastMRIFileError, match="multicoil_val: 3 usable file"):
        anatomy_split(tree, "knee", n_train_volumes=0, n_test_volumes=4)


# --- one clear error per problem, naming the file ------------------------------


def test_missing_folder(tmp_path):
    with pytest.raises(FastMRIFileError, match=f"{tmp_path / 'x'}: no such folder"):
        list_files(tmp_path / "x")


def test_empty_folder(tmp_path):
    with pytest.raises(FastMRIFileError, match=f"{tmp_path}: no .h5 file"):
        list_files(tmp_path)


def test_corrupted_file(tmp_path):
    path = tmp_path / "broken.h5"
    path.write_bytes(b"not an HDF5 file" * 100)
    with pytest.raises(FastMRIFileError, match="broken.h5: not a readable HDF5"):
        list_files(tmp_path)


def test_truncated_file(tmp_path):
    path = write_volume(tmp_path / "cut.h5", 0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FastMRIFileError, match="cut.h5: .*truncated or corrupted"):
        read_volume(inspect_file(path))


def test_file_without_kspace(tmp_path):
    with h5py.File(tmp_path / "nok.h5", "w") as f:
        f.create_dataset("reconstruction_rss", data=np.zeros((1, 4, 4)))
    with pytest.raises(FastMRIFileError, match="nok.h5: no 'kspace' dataset"):
        list_files(tmp_path)


def test_singlecoil_file_in_a_multicoil_run(tree, tmp_path):
    write_volume(tmp_path / "single.h5", 0, singlecoil=True)
    with pytest.raises(FastMRIFileError,
                       match="single.h5: a singlecoil file .* in a multicoil run"):
        list_files(tmp_path, "multicoil")


def test_undersampled_test_file(tmp_path):
    path = write_volume(tmp_path / "test.h5", 0)
    with h5py.File(path, "a") as f:
        f.create_dataset("mask", data=np.ones(48, dtype=bool))
    with pytest.raises(FastMRIFileError, match="test.h5: undersampled k-space"):
        inspect_file(path)


@pytest.mark.parametrize("key, value, message", [
    ("reconstruction_rss", np.nan, "'reconstruction_rss' slice 4 contains NaN or inf"),
    ("reconstruction_rss", np.inf, "'reconstruction_rss' slice 4 contains NaN or inf"),
    ("reconstruction_rss", 0.0, "'reconstruction_rss' slice 4 is all zero"),
    ("kspace", np.nan, "'kspace' slice 4 contains NaN or inf"),
])
def test_a_bad_reference_or_kspace_slice_is_refused_naming_file_and_slice(
        tmp_path, key, value, message):
    """A NaN / inf / all-zero reference would score NaN (or nothing) silently:
    it is refused like NaN k-space, naming the file and the slice."""
    path = write_volume(tmp_path / "bad.h5", 0, n_slices=5)
    with h5py.File(path, "a") as f:
        data = f[key][()]
        if value == 0.0:
            data[4] = 0
        else:
            data[4, ..., 3] = value
        f[key][...] = data
    info = inspect_file(path)
    with pytest.raises(FastMRIFileError, match=f"bad.h5: {message}"):
        read_volume(info)
    assert read_volume(info, n_slices=3).target.shape[0] == 3  # slices 1..3 are fine


def test_all_zero_kspace_without_a_reference_is_refused_naming_the_file(tmp_path):
    """A file with no reference gets the RSS of its k-space as target: an
    all-zero k-space scored NaN for the whole split, naming nothing."""
    path = write_volume(tmp_path / "blank.h5", 0, n_slices=3, with_target=False)
    with h5py.File(path, "a") as f:
        f["kspace"][2] = 0
    info = inspect_file(path)
    with pytest.raises(FastMRIFileError, match="blank.h5: 'kspace' slice 2 is all "
                       "zero .*the file has no reference"):
        read_volume(info)
    assert read_volume(info, n_slices=1).target.abs().max() > 0  # slice 2 left out


@pytest.mark.parametrize("reference_slices, message", [
    (3, "'reconstruction_rss' has 3 slices and 'kspace' 5"),
    (7, "'reconstruction_rss' has 7 slices and 'kspace' 5"),
])
def test_a_reference_of_another_slice_count_is_refused_when_listed(
        tmp_path, reference_slices, message):
    """It failed after the solver ran (or scored the wrong slices): the
    file is refused when the dataset lists it, naming it."""
    path = write_volume(tmp_path / "file1.h5", 0, n_slices=5)
    with h5py.File(path, "a") as f:
        ref = f["reconstruction_rss"][()]
        del f["reconstruction_rss"]
        f.create_dataset("reconstruction_rss",
                         data=np.resize(ref, (reference_slices, *ref.shape[1:])))
    with pytest.raises(FastMRIFileError, match=f"file1.h5: {message}"):
        list_files(tmp_path)


def test_an_empty_volume_is_refused_when_listed(tmp_path):
    """0 slices: numpy's "need at least one array to stack", file unnamed."""
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("kspace", shape=(0, 4, 64, 48), dtype=np.complex64)
        f.create_dataset("ismrmrd_header", data=header((64, 48), (32, 32), (4, 46)))
    with pytest.raises(FastMRIFileError, match="empty.h5: 'kspace' holds no data "
                       r"\(shape \(0, 4, 64, 48\)\)"):
        list_files(tmp_path)


def test_bad_header(tmp_path):
    path = write_volume(tmp_path / "h.h5", 0)
    with h5py.File(path, "a") as f:
        del f["ismrmrd_header"]
        f.create_dataset("ismrmrd_header", data="<ismrmrdHeader")
    with pytest.raises(FastMRIFileError, match="h.h5: unreadable ismrmrd_header"):
        inspect_file(path)


# --- memory ----------------------------------------------------------------------


def test_reading_central_slices_does_not_load_the_volume(tmp_path):
    """A 400-slice file (25 MiB of k-space): reading its 2 central slices
    allocates about 2 slices, never the volume (tracemalloc sees numpy's
    buffers, which h5py reads into)."""
    S, C, H, W = 400, 4, 64, 32
    path = tmp_path / "large.h5"
    with h5py.File(path, "w") as f:
        kspace = f.create_dataset("kspace", (S, C, H, W), dtype=np.complex64)
        for i in range(0, S, 50):
            block = np.full((50, C, H, W), 1 + 1j, dtype=np.complex64)
            block *= np.arange(i, i + 50)[:, None, None, None]
            kspace[i : i + 50] = block
        f.create_dataset("reconstruction_rss", (S, H, W), dtype=np.float32,
                         fillvalue=1.0)  # a reference is never all zero
        f.create_dataset("ismrmrd_header", data=header((H, W), (H, W), (0, W)))
    slice_bytes = C * H * W * 8
    info = inspect_file(path)
    tracemalloc.start()
    v = read_volume(info, n_slices=2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert v.kspace.shape == (2, C, H, W)
    assert v.kspace[:, 0, 0, 0].real.tolist() == [199.0, 200.0]
    assert peak < 4 * slice_bytes, f"peak {peak} B for slices of {slice_bytes} B"
    assert S * slice_bytes > 100 * peak


# --- a folder of fastMRI-layout files ----------------------------------------------


def test_folder_split(tree, tmp_path):
    assert set(folder_split("")) == {UNAVAILABLE}
    folder = tree / "knee" / "multicoil_val"
    data = folder_split(str(folder), n_train_volumes=1)
    assert [v.name for v in data["train"]] == ["file1003"]
    assert [v.name for v in data["test"]] == ["file1004", "file1005"]
    assert len(folder_split(str(folder), n_test_volumes=2)["test"]) == 2
    with pytest.raises(FastMRIFileError, match="none left for the test split"):
        folder_split(str(folder), n_train_volumes=3)
    # "auto" mixes multicoil and singlecoil files; a fixed challenge does not.
    write_volume(tmp_path / "a.h5", 0)
    write_volume(tmp_path / "b.h5", 1, singlecoil=True)
    mixed = folder_split(str(tmp_path))["test"]
    assert [v.read().kspace.shape[1] for v in mixed] == [4, 1]
    with pytest.raises(FastMRIFileError, match="b.h5: a singlecoil file"):
        folder_split(str(tmp_path), challenge="multicoil")


@pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real fastMRI-layout files absent: {REAL}"
)
def test_real_files():
    refs = folder_split(str(REAL))["test"]
    volumes = [ref.read() for ref in refs]
    # What the header says matches what is read.
    assert [ref.target_size for ref in refs] == [v.target.shape[-2:] for v in volumes]
    sizes = {v.name: (tuple(v.kspace.shape), tuple(v.target.shape)) for v in volumes}
    assert sizes == {
        "espirit_brain_full_8ch": ((1, 8, 230, 180), (1, 230, 180)),
        "gpunufft_brain_4ch": ((1, 4, 256, 256), (1, 256, 256)),
        "loraks_mprage_4ch": ((1, 4, 256, 256), (1, 256, 256)),
        # 256 x 340: cropped to 320 columns, as fastMRI crops.
        "loraks_t2_singlecoil": ((1, 1, 256, 340), (1, 256, 320)),
    }
    for v in volumes:
        full = rss(ifft2c(v.kspace))
        assert torch.allclose(v.target, center_crop(full, v.target.shape[-2:]),
                              rtol=1e-4, atol=1e-4 * float(full.max()))
